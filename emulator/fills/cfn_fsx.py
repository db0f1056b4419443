"""The shared storage a cluster stack creates: FSx and EFS resources in moto's CloudFormation.

- moto 5.2.5 models neither ``AWS::FSx::FileSystem`` nor ``AWS::FSx::DataRepositoryAssociation``, so a cluster
  whose SharedStorage creates an FSx for Lustre file system fails: "Template error: instance of Fn::GetAtt
  references undefined resource FSX..." (pcluster hands the file system's ``LustreMountName`` to its queues'
  nested stack and outputs its Ref as ``FSXIds``). Both are made here through the emulator's FSx backend
  (``fills/fsx.py``), so a file system made by a stack is what CreateFileSystem makes (17-hex id, MountName,
  VpcId, network interfaces) and its associations go through the same lifecycle.
- moto's ``AWS::EFS::FileSystem`` has no update, so moto replaces it in the stack by None on any change (pcluster
  updates its throughput) and DeleteStack then leaves it behind; ``AWS::EFS::MountTarget`` refuses every update.
  Neither answers ``Fn::GetAtt``.
- CloudFormation tags what it creates with the stack's tags and ``aws:cloudformation:stack-name``/``-id``/
  ``-logical-id``; moto does so for EC2 resources only. pcluster's cluster and cost tags reach the file systems
  this way.

Ref is the physical id (file system or association id). DeleteStack deletes what the stack made, except with
``DeletionPolicy: Retain`` (moto's own check); a resource already deleted outside the stack counts as deleted.
"""

import secrets
import types

from moto.cloudformation import parsing
from moto.cloudformation.models import cloudformation_backends
from moto.core.common_models import CloudFormationModel
from moto.efs.models import FileSystem as EfsFileSystem
from moto.efs.models import MountTarget as EfsMountTarget
from moto.efs.models import efs_backends
from moto.fsx.exceptions import FileSystemNotFound
from moto.fsx.models import fsx_backends

from .fsx import DataRepositoryAssociationNotFound

# Properties CloudFormation documents as "Update requires: Replacement"; any other change is made in place.
FILE_SYSTEM_REPLACING = ("BackupId", "FileSystemType", "KmsKeyId", "SecurityGroupIds", "StorageType", "SubnetIds")
LUSTRE_REPLACING = ("DeploymentType", "DriveCacheType", "EfaEnabled", "ExportPath", "ImportPath", "ImportedFileChunkSize")
ASSOCIATION_REPLACING = ("BatchImportMetaDataOnCreate", "DataRepositoryPath", "FileSystemId", "FileSystemPath")
EFS_REPLACING = ("AvailabilityZoneName", "Encrypted", "KmsKeyId", "PerformanceMode")
MOUNT_TARGET_REPLACING = ("FileSystemId", "IpAddress", "SubnetId")
# Template values may be strings (parameters); the FSx API takes these as integers and booleans.
_INTEGERS = ("StorageCapacity", "PerUnitStorageThroughput", "ImportedFileChunkSize", "AutomaticBackupRetentionDays",
             "ThroughputCapacity")
_BOOLEANS = ("CopyTagsToBackups", "EfaEnabled", "BatchImportMetaDataOnCreate")
_MODELS = []  # moto finds models as CloudFormationModel subclasses, which it references weakly


def _typed(properties):
    """``properties`` with the integer and boolean members CloudFormation may pass as strings converted."""
    if not isinstance(properties, dict):
        return properties
    typed = {}
    for key, value in properties.items():
        if key in _INTEGERS and isinstance(value, str):
            value = int(value)
        elif key in _BOOLEANS and isinstance(value, str):
            value = value.lower() == "true"
        typed[key] = _typed(value)
    return typed


def _stack_tags(account_id, region_name, stack_id, logical_id):
    """The tags CloudFormation gives a resource besides its own: the stack's tags and aws:cloudformation:*."""
    stack = cloudformation_backends[account_id][region_name].stacks.get(stack_id)
    tags = dict(stack.tags or {}) if stack is not None else {}
    if stack is not None:
        tags["aws:cloudformation:stack-name"] = stack.name
    tags.update({"aws:cloudformation:stack-id": stack_id, "aws:cloudformation:logical-id": logical_id})
    return tags


def _tag_list(stack_tags, resource_tags):
    """The resource's Tags win over the stack's, as on AWS."""
    merged = {**stack_tags, **{tag["Key"]: tag["Value"] for tag in resource_tags or []}}
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def _changed(old, new, keys):
    return any(old.get(key) != new.get(key) for key in keys)


def _section(properties, member):
    """A member of the properties (LustreConfiguration), or all of them for None."""
    return properties.get(member) or {} if member else properties


def _retag(tagger, arn, old_tags, new_tags):
    """Apply a change of the template's Tags, leaving the stack's tags and any added outside the stack."""
    new_keys = {tag["Key"] for tag in new_tags or []}
    removed = [tag["Key"] for tag in old_tags or [] if tag["Key"] not in new_keys]
    if removed:
        tagger.untag_resource_using_names(arn, removed)
    if new_tags:
        tagger.tag_resource(arn, new_tags)


class _StackResource:
    """What the FSx models share: creation from the template, update in place or by replacement, deletion."""

    resource_type = ""
    replacing = ()  # (member of the properties, or None for the top level; keys whose change replaces)
    attributes = ()

    def __init__(self, backend, properties, stack_id, logical_id):
        self.backend = backend
        self.properties = properties
        self.stack_id = stack_id
        self.logical_id = logical_id

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def cloudformation_type(cls):
        return cls.resource_type

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in cls.attributes

    def is_created(self):
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # pylint: disable=unused-argument
        return cls.create(account_id, region_name, _typed(cloudformation_json.get("Properties", {})),
                          kwargs.get("StackId"), kwargs.get("LogicalId"))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id,  # pylint: disable=unused-argument
                                        region_name):
        properties = _typed(cloudformation_json.get("Properties", {}))
        old = original_resource.properties
        if not any(_changed(_section(old, member), _section(properties, member), keys) for member, keys in cls.replacing):
            original_resource.update(properties)
            return original_resource
        # Replacement: the new resource first, then the old one goes (unless the template keeps it).
        replacement = cls.create(account_id, region_name, properties, original_resource.stack_id,
                                 original_resource.logical_id)
        if cloudformation_json.get("UpdateReplacePolicy") != "Retain":
            original_resource.delete(account_id, region_name)
        return replacement

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        """moto calls ``delete`` on the resource itself; this is only its fallback."""


class _FSxFileSystem(_StackResource):
    """AWS::FSx::FileSystem: a file system of the emulator's FSx backend."""

    resource_type = "AWS::FSx::FileSystem"
    replacing = ((None, FILE_SYSTEM_REPLACING), ("LustreConfiguration", LUSTRE_REPLACING))
    attributes = ("DNSName", "Id", "LustreMountName", "ResourceARN", "RootVolumeId")

    @classmethod
    def create(cls, account_id, region_name, properties, stack_id, logical_id):
        backend = fsx_backends[account_id][region_name]
        file_system = backend.create_file_system(
            client_request_token=None, file_system_type=properties.get("FileSystemType"),
            storage_capacity=properties.get("StorageCapacity"), storage_type=properties.get("StorageType", "SSD"),
            subnet_ids=properties.get("SubnetIds") or [], security_group_ids=properties.get("SecurityGroupIds") or [],
            tags=_tag_list(_stack_tags(account_id, region_name, stack_id, logical_id), properties.get("Tags")),
            kms_key_id=properties.get("KmsKeyId"), windows_configuration=properties.get("WindowsConfiguration"),
            lustre_configuration=properties.get("LustreConfiguration"),
            ontap_configuration=properties.get("OntapConfiguration"),
            file_system_type_version=properties.get("FileSystemTypeVersion"),
            open_zfs_configuration=properties.get("OpenZFSConfiguration"))
        resource = cls(backend, properties, stack_id, logical_id)
        resource.file_system = file_system
        # OpenZFS file systems have a root volume, which moto does not model: only its id is made up.
        resource.root_volume_id = f"fsvol-{secrets.token_hex(9)[:17]}" if file_system.file_system_type == "OPENZFS" else None
        return resource

    @property
    def physical_resource_id(self):
        return self.file_system.file_system_id

    def get_cfn_attribute(self, attribute_name):
        file_system = self.file_system
        return {
            "DNSName": file_system.dns_name,
            "Id": file_system.file_system_id,
            "LustreMountName": (file_system.lustre_configuration or {}).get("MountName"),
            "ResourceARN": file_system.resource_arn,
            "RootVolumeId": self.root_volume_id,
        }[attribute_name]

    def update(self, properties):
        """What UpdateFileSystem can change: capacity, version, Lustre settings (the mount name stays), tags."""
        file_system = self.file_system
        file_system.storage_capacity = properties.get("StorageCapacity", file_system.storage_capacity)
        if properties.get("FileSystemTypeVersion"):
            file_system.file_system_type_version = properties["FileSystemTypeVersion"]
        lustre = file_system.lustre_configuration
        if lustre is not None:  # DeploymentType cannot change in place; the fsx fill defaults it when absent
            file_system.lustre_configuration = {"DeploymentType": lustre.get("DeploymentType"),
                                                **properties.get("LustreConfiguration", {}),
                                                "MountName": lustre.get("MountName")}
        _retag(self.backend.tagger, file_system.resource_arn, self.properties.get("Tags"), properties.get("Tags"))
        self.properties = properties

    def delete(self, account_id, region_name):  # pylint: disable=unused-argument
        try:
            self.backend.delete_file_system(file_system_id=self.file_system.file_system_id, client_request_token=None,
                                            windows_configuration=None, lustre_configuration=None,
                                            open_zfs_configuration=None)
        except FileSystemNotFound:
            pass


class _FSxDataRepositoryAssociation(_StackResource):
    """AWS::FSx::DataRepositoryAssociation: an association of the emulator's FSx backend, CREATING at first.

    CloudFormation would wait for AVAILABLE; here the stack goes on, and a reader sees the lifecycle move on.
    """

    resource_type = "AWS::FSx::DataRepositoryAssociation"
    replacing = ((None, ASSOCIATION_REPLACING),)
    attributes = ("AssociationId", "ResourceARN")

    @classmethod
    def create(cls, account_id, region_name, properties, stack_id, logical_id):
        backend = fsx_backends[account_id][region_name]
        request = {key: properties[key] for key in ("FileSystemId", "FileSystemPath", "DataRepositoryPath",
                                                    "BatchImportMetaDataOnCreate", "ImportedFileChunkSize", "S3")
                   if key in properties}
        request["Tags"] = _tag_list(_stack_tags(account_id, region_name, stack_id, logical_id), properties.get("Tags"))
        resource = cls(backend, properties, stack_id, logical_id)
        resource.association = backend.create_data_repository_association(request)
        return resource

    @property
    def physical_resource_id(self):
        return self.association.association_id

    def get_cfn_attribute(self, attribute_name):
        return {"AssociationId": self.association.association_id,
                "ResourceARN": self.association.resource_arn}[attribute_name]

    def update(self, properties):
        request = {"AssociationId": self.association.association_id}
        if properties.get("ImportedFileChunkSize") != self.properties.get("ImportedFileChunkSize"):
            request["ImportedFileChunkSize"] = properties.get("ImportedFileChunkSize")
        old_s3, new_s3 = self.properties.get("S3") or {}, properties.get("S3") or {}
        if old_s3 != new_s3:
            # The API keeps a policy that a request leaves out; a template that drops it means no events.
            request["S3"] = {key: new_s3.get(key, {"Events": []}) for key in {*old_s3, *new_s3}}
        if len(request) > 1:
            self.backend.update_data_repository_association(request)
        _retag(self.backend.tagger, self.association.resource_arn, self.properties.get("Tags"), properties.get("Tags"))
        self.properties = properties

    def delete(self, account_id, region_name):  # pylint: disable=unused-argument
        try:
            self.backend.delete_data_repository_association(self.association.association_id)
        except DataRepositoryAssociationNotFound:  # gone with its file system
            pass


def _model(mixin):
    """A CloudFormationModel subclass made of ``mixin`` (made at install, so that importing registers nothing)."""

    def body(namespace):
        namespace["__module__"] = __name__  # moto's model registry files classes by their module

    model = types.new_class(mixin.__name__.lstrip("_"), (mixin, CloudFormationModel), exec_body=body)
    _MODELS.append(model)
    return model


# EFS ------------------------------------------------------------------------------------------------------------

_stock_efs_create = EfsFileSystem.create_from_cloudformation_json.__func__
_stock_mount_target_create = EfsMountTarget.create_from_cloudformation_json.__func__
EFS_ATTRIBUTES = {"Arn": "file_system_arn", "FileSystemId": "file_system_id"}
MOUNT_TARGET_ATTRIBUTES = {"Id": "mount_target_id", "IpAddress": "ip_address"}


def _efs_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = dict(cloudformation_json.get("Properties", {}))
    properties["FileSystemTags"] = _tag_list(
        _stack_tags(account_id, region_name, kwargs.get("StackId"), kwargs.get("LogicalId")),
        properties.get("FileSystemTags"))
    file_system = _stock_efs_create(cls, resource_name, dict(cloudformation_json, Properties=properties), account_id,
                                    region_name, **kwargs)
    file_system.cfn_properties = cloudformation_json.get("Properties", {})
    return file_system


def _efs_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # pylint: disable=unused-argument
    """In place, as UpdateFileSystem and the lifecycle, backup and tag calls do; a replacement is not emulated."""
    properties = cloudformation_json.get("Properties", {})
    old = getattr(original_resource, "cfn_properties", {})
    if _changed(old, properties, EFS_REPLACING):
        raise NotImplementedError(f"replacing AWS::EFS::FileSystem {original_resource.file_system_id} (a change of "
                                  f"{', '.join(EFS_REPLACING)}) is not emulated")
    original_resource.throughput_mode = properties.get("ThroughputMode", "bursting")
    original_resource.provisioned_throughput_in_mibps = properties.get("ProvisionedThroughputInMibps", 0)
    original_resource.lifecycle_policies = properties.get("LifecyclePolicies", [])
    original_resource._backup = (properties.get("BackupPolicy") or {}).get("Status") == "ENABLED"  # pylint: disable=protected-access
    tagging = efs_backends[account_id][region_name].tagging_service  # EFS files tags by file system id, not ARN
    _retag(tagging, original_resource.file_system_id, old.get("FileSystemTags"), properties.get("FileSystemTags"))
    original_resource.cfn_properties = properties
    return original_resource


def _mount_target_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    """Security groups change in place; another subnet or address means a new mount target, after the old one
    (one mount target per zone: the new one cannot come first)."""
    properties = cloudformation_json.get("Properties", {})
    current = {"FileSystemId": original_resource.file_system_id, "SubnetId": original_resource.subnet_id,
               # the address counts only when the template names one; otherwise the subnet picked it
               "IpAddress": properties.get("IpAddress") and original_resource.ip_address}
    if not _changed(current, properties, MOUNT_TARGET_REPLACING):
        original_resource.security_groups = properties.get("SecurityGroups")
        return original_resource
    efs_backends[account_id][region_name].delete_mount_target(original_resource.mount_target_id)
    return _stock_mount_target_create(cls, new_resource_name, cloudformation_json, account_id, region_name)


def _attribute_getter(names):
    def get_cfn_attribute(self, attribute_name):
        return getattr(self, names[attribute_name])

    return get_cfn_attribute


def install():
    for mixin in (_FSxFileSystem, _FSxDataRepositoryAssociation):
        _model(mixin)
    EfsFileSystem.create_from_cloudformation_json = classmethod(_efs_create)
    EfsFileSystem.update_from_cloudformation_json = classmethod(_efs_update)
    EfsMountTarget.update_from_cloudformation_json = classmethod(_mount_target_update)
    for model, names in ((EfsFileSystem, EFS_ATTRIBUTES), (EfsMountTarget, MOUNT_TARGET_ATTRIBUTES)):
        model.has_cfn_attr = classmethod(lambda cls, attr, names=names: attr in names)
        model.get_cfn_attribute = _attribute_getter(names)
    # moto discovers models as CloudFormationModel subclasses, behind caches filled on first use.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
