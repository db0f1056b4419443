"""FSx fills: data repository associations (gap 11) and complete file system descriptions (gap 12).

Stock moto 5.2.5 has no Create/Describe/Update/DeleteDataRepositoryAssociation (the client gets HTTP 500)
and describes a file system without Lifecycle, LustreConfiguration.MountName, FileSystemTypeVersion, VpcId,
NetworkInterfaceIds, CreationTime or OwnerId, under an id of 8 hex digits where AWS uses 17 (pcluster's
schema accepts only 17 for an existing Lustre ``FileSystemId``). It creates a file system in a subnet that does
not exist, and answers an unknown id with an empty list (describe) or HTTP 500 (delete).
``install()`` grafts the missing methods onto moto's own FSxBackend and FSxResponse classes.

Responses are returned as moto ``ActionResult``s, so moto serialises them from the botocore model: member
names, timestamps and error members are exactly what boto3 expects, and None members are left out.
Transitional lifecycles are computed from the clock when read (``state.now()``), never by a thread.
"""

import base64
import datetime
import functools
import inspect
import json
import operator
import re
import secrets
import string
import threading

from moto.core.exceptions import ServiceException
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.fsx.exceptions import FileSystemNotFound
from moto.fsx.models import FileSystem, FSxBackend
from moto.fsx.responses import FSxResponse

from .. import state

MAX_ASSOCIATIONS_PER_FILE_SYSTEM = 8  # AWS quota; CreateDataRepositoryAssociation's documentation states it
DEFAULT_IMPORTED_FILE_CHUNK_SIZE = 1024  # MiB, the AWS default
DEFAULT_PAGE_SIZE = 25  # the maximum of the model's LimitedMaxResults
DEFAULT_LUSTRE_VERSION = "2.15"  # what AWS picks for a new PERSISTENT_2 file system when none is given
UPDATABLE_LIFECYCLES = ("AVAILABLE", "MISCONFIGURED")  # an update is how a misconfiguration is fixed
_S3_PATH = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")  # bucket naming rules, optional prefix
# FailureDetails.Message when a dra_failed fault carries none (wording after the FSx for Lustre guide).
_DEFAULT_FAILURE_MESSAGES = {
    "FAILED": "The data repository association could not be created because Amazon FSx could not access {path}. "
              "Check that the bucket exists and that its policy allows Amazon FSx to access it.",
    "MISCONFIGURED": "Amazon FSx cannot automatically import updates from or export updates to {path} until the "
                     "data repository association configuration is corrected.",
}
# Filter name -> association attribute it compares against.
_FILTER_ATTRIBUTES = {
    "file-system-id": "file_system_id",
    "data-repository-type": "data_repository_type",
    "file-cache-id": "file_cache_id",
}
_DATA_REPOSITORY_TYPES = ("S3", "NFS")
# Requests run on several server threads; create/update/delete check the registry, then change it.
_LOCK = threading.Lock()


class BadRequest(ServiceException):
    code = "BadRequest"


class InvalidDataRepositoryType(ServiceException):
    code = "InvalidDataRepositoryType"


class ServiceLimitExceeded(ServiceException):
    code = "ServiceLimitExceeded"


class DataRepositoryAssociationNotFound(ServiceException):
    code = "DataRepositoryAssociationNotFound"

    def __init__(self, association_id):
        super().__init__(f"Data repository association '{association_id}' does not exist.")


class InvalidNetworkSettings(ServiceException):
    """FSx's answer to a subnet or security group that does not exist; the id fills the member that names it."""

    code = "InvalidNetworkSettings"

    def __init__(self, message, invalid_subnet_id=None, invalid_security_group_id=None):
        super().__init__(message)
        self.invalid_subnet_id = invalid_subnet_id
        self.invalid_security_group_id = invalid_security_group_id


class IncompatibleParameterError(ServiceException):
    """FSx's answer to a client request token reused with other parameters; ``parameter`` fills its Parameter member."""

    code = "IncompatibleParameterError"

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter


def _creation_outcome(repository_path):
    """(lifecycle after CREATING, FailureDetails message): AVAILABLE, unless a dra_failed fault is queued."""
    fault = state.take_fault("dra_failed")
    if fault is None:
        return "AVAILABLE", None
    lifecycle = fault.get("lifecycle", "FAILED")
    return lifecycle, fault.get("message") or _DEFAULT_FAILURE_MESSAGES[lifecycle].format(path=repository_path)


class DataRepositoryAssociation:
    """One association. Attribute names are the model's member names in snake_case, which moto's serialiser reads."""

    data_repository_type = "S3"  # file systems link S3 only; NFS repositories exist on File Cache only
    file_cache_id = None  # set on File Cache associations, which moto cannot create

    def __init__(self, backend, file_system_id, request):
        self.association_id = f"dra-{secrets.token_hex(9)[:17]}"
        self.resource_arn = (f"arn:aws:fsx:{backend.region_name}:{backend.account_id}:association/"
                             f"{file_system_id}/{self.association_id}")
        self.file_system_id = file_system_id
        self.file_system_path = request["FileSystemPath"]
        self.data_repository_path = request["DataRepositoryPath"]
        self.batch_import_meta_data_on_create = request.get("BatchImportMetaDataOnCreate", False)
        self.imported_file_chunk_size = request.get("ImportedFileChunkSize", DEFAULT_IMPORTED_FILE_CHUNK_SIZE)
        self.s3 = request.get("S3")
        self.creation_time = datetime.datetime.now(datetime.timezone.utc)
        self.delete_data_in_file_system = None
        self.request = request  # kept to recognise a retry carrying the same ClientRequestToken
        self._backend = backend
        self._start("CREATING", "dra_create_seconds", *_creation_outcome(self.data_repository_path))

    def _start(self, transition, setting, outcome="AVAILABLE", failure=None):
        """Enter ``transition`` for ``setting`` seconds, then settle in ``outcome`` (None: the association is gone)."""
        self._transition = transition
        self._ends_at = state.now() + state.setting(setting)
        self._outcome = outcome
        self._failure = failure

    @property
    def lifecycle(self):
        # A finished delete still reads DELETING until the registry drops the association, never a missing value.
        if self._outcome is None or state.now() < self._ends_at:
            return self._transition
        return self._outcome

    @property
    def gone(self):
        return self._outcome is None and state.now() >= self._ends_at

    @property
    def failure_details(self):
        return {"Message": self._failure} if self.lifecycle in _DEFAULT_FAILURE_MESSAGES else None

    @property
    def tags(self):
        return self._backend.list_tags_for_resource(self.resource_arn) or None

    def update(self, request):
        """Apply the members an UpdateDataRepositoryAssociation request carries; policies not named are kept."""
        self.imported_file_chunk_size = request.get("ImportedFileChunkSize", self.imported_file_chunk_size)
        if "S3" in request:
            self.s3 = {**(self.s3 or {}), **request["S3"]}
        self._start("UPDATING", "dra_update_seconds")

    def delete(self, delete_data_in_file_system):
        self.delete_data_in_file_system = delete_data_in_file_system
        self._start("DELETING", "dra_delete_seconds", outcome=None)


def _directory(path):
    """A path with exactly one trailing slash, so that '/a' and '/a/' compare equal and '/ab' is not inside '/a'."""
    return path.rstrip("/") + "/"


def _overlaps(path, other):
    """True when the paths are equal or one contains the other."""
    return _directory(path).startswith(_directory(other)) or _directory(other).startswith(_directory(path))


def _check_paths(request, siblings):
    """Refuse paths AWS refuses: a relative file system path, a non-S3 repository, overlaps with ``siblings``."""
    file_system_path = request.get("FileSystemPath") or ""
    repository_path = request.get("DataRepositoryPath") or ""
    if not file_system_path.startswith("/"):
        raise BadRequest(f"The file system path '{file_system_path}' is not valid. Specify an absolute path "
                         "that begins with a forward slash (/), such as /ns1/.")
    if not _S3_PATH.match(repository_path):
        raise BadRequest(f"The data repository path '{repository_path}' is not valid. Specify an Amazon S3 bucket "
                         "or prefix in the format s3://bucket-name/prefix/.")
    for other in siblings:
        if _overlaps(file_system_path, other.file_system_path):
            raise BadRequest(f"The file system path '{file_system_path}' overlaps with the file system path "
                             f"'{other.file_system_path}' of data repository association {other.association_id}. "
                             "Two data repository associations cannot have overlapping file system paths.")
        if _directory(repository_path) == _directory(other.data_repository_path):
            raise BadRequest(f"The data repository path '{repository_path}' is already linked to the file system "
                             f"path '{other.file_system_path}' by data repository association {other.association_id}. "
                             "Each data repository association must have a unique data repository path.")


def _check_limit(file_system_id, siblings):
    if len(siblings) >= MAX_ASSOCIATIONS_PER_FILE_SYSTEM:
        raise ServiceLimitExceeded(f"File system {file_system_id} already has the maximum of "
                                   f"{MAX_ASSOCIATIONS_PER_FILE_SYSTEM} data repository associations. "
                                   "Delete an association before you create another.")


def _encode_token(association_id):
    return base64.b64encode(association_id.encode()).decode()


def _page(items, max_results, next_token, id_of=operator.attrgetter("association_id")):
    """One page in creation order; NextToken is the base64 id (``id_of``) of the first item of the next page.
    Associations by default; the data plane's data repository tasks (fsx_data) page the same way."""
    start = 0
    if next_token:
        try:
            start = [id_of(item) for item in items].index(base64.b64decode(next_token, validate=True).decode())
        except ValueError as error:  # undecodable, or naming no item of this listing
            raise BadRequest(f"The NextToken '{next_token}' is not valid.") from error
    end = start + (max_results or DEFAULT_PAGE_SIZE)
    following = _encode_token(id_of(items[end])) if end < len(items) else None
    return items[start:end], following


def _replayed(items, request, kind, id_of):
    """The item (association, or data plane task) an earlier request with this ClientRequestToken created, if any: a
    client retry. The token reused with other parameters is IncompatibleParameterError; ``kind`` names the item."""
    token = request.get("ClientRequestToken")
    earlier = next((item for item in items if token and item.request.get("ClientRequestToken") == token), None)
    if earlier is not None and earlier.request != request:
        raise IncompatibleParameterError("ClientRequestToken", f"The client request token '{token}' was already used "
                                         f"to create {kind} {id_of(earlier)} with different parameters. Use a new "
                                         "token for a different request.")
    return earlier


def _filter_attribute(name, values):
    """The association attribute a Filter compares; refuses names and repository types that AWS refuses."""
    if name not in _FILTER_ATTRIBUTES:
        raise BadRequest(f"The filter name '{name}' is not supported. Supported filter names: "
                         f"{', '.join(_FILTER_ATTRIBUTES)}.")
    if name == "data-repository-type":
        for value in values:
            if value not in _DATA_REPOSITORY_TYPES:
                raise InvalidDataRepositoryType(f"The data repository type '{value}' is not supported. "
                                                f"Supported types: {', '.join(_DATA_REPOSITORY_TYPES)}.")
    return _FILTER_ATTRIBUTES[name]


class _BackendMethods:
    """Methods grafted onto moto's FSxBackend (``self`` is the backend of one account and region)."""

    def _associations(self):
        """The live associations, in creation order; those whose delete has finished are dropped first."""
        for association in [a for a in self.data_repository_associations.values() if a.gone]:
            self._forget_association(association)
        return self.data_repository_associations

    def _forget_association(self, association):
        del self.data_repository_associations[association.association_id]
        self.tagger.delete_all_tags_for_resource(association.resource_arn)

    def _association(self, association_id):
        association = self._associations().get(association_id)
        if association is None:
            raise DataRepositoryAssociationNotFound(association_id)
        return association

    def _file_system_for_association(self, file_system_id):
        """The file system, if it can hold associations: Lustre 2.12 or later, not SCRATCH_1."""
        file_system = self.file_systems.get(file_system_id)
        if file_system is None:
            raise FileSystemNotFound(file_system_id)
        lustre = file_system.lustre_configuration or {}
        if (file_system.file_system_type != "LUSTRE" or lustre.get("DeploymentType") == "SCRATCH_1"
                or getattr(file_system, "file_system_type_version", None) == "2.10"):
            raise BadRequest(f"File system {file_system_id} does not support data repository associations. They are "
                             "supported on FSx for Lustre 2.12 and 2.15 file systems, excluding the SCRATCH_1 deployment type.")
        return file_system

    def _replayed_association(self, request):
        """The association an earlier request with this ClientRequestToken created, if any (a client retry)."""
        return _replayed(self._associations().values(), request, "data repository association",
                         operator.attrgetter("association_id"))

    def create_data_repository_association(self, request):
        with _LOCK:
            file_system_id = self._file_system_for_association(request.get("FileSystemId")).file_system_id
            replayed = self._replayed_association(request)
            if replayed is not None:
                return replayed
            siblings = [a for a in self._associations().values() if a.file_system_id == file_system_id]
            _check_limit(file_system_id, siblings)
            _check_paths(request, siblings)
            association = DataRepositoryAssociation(self, file_system_id, request)
            self.data_repository_associations[association.association_id] = association
            if request.get("Tags"):
                self.tagger.tag_resource(association.resource_arn, request["Tags"])
            return association

    def describe_data_repository_associations(self, association_ids=None, filters=None, max_results=None, next_token=None):
        """(page, NextToken) of the associations named, or of all, narrowed by every filter."""
        with _LOCK:
            if association_ids:
                associations = [self._association(association_id) for association_id in association_ids]
            else:
                associations = list(self._associations().values())
        for item in filters or []:
            values = item.get("Values") or []
            attribute = _filter_attribute(item.get("Name"), values)
            associations = [a for a in associations if getattr(a, attribute) in values]
        return _page(associations, max_results, next_token)

    def update_data_repository_association(self, request):
        with _LOCK:
            association = self._association(request.get("AssociationId"))
            if association.lifecycle not in UPDATABLE_LIFECYCLES:
                raise BadRequest(f"Data repository association {association.association_id} cannot be updated while "
                                 f"its lifecycle is {association.lifecycle}.")
            association.update(request)
            return association

    def delete_data_repository_association(self, association_id, delete_data_in_file_system=False):
        with _LOCK:
            association = self._association(association_id)
            if association.lifecycle != "DELETING":  # a retried delete neither fails nor restarts the clock
                association.delete(delete_data_in_file_system)
            return association


class _ResponseMethods:
    """Handlers grafted onto moto's FSxResponse; moto calls the one named after the action in snake_case."""

    def create_data_repository_association(self):
        association = self.fsx_backend.create_data_repository_association(json.loads(self.body))
        return ActionResult({"Association": association})

    def describe_data_repository_associations(self):
        params = json.loads(self.body)
        associations, next_token = self.fsx_backend.describe_data_repository_associations(
            association_ids=params.get("AssociationIds"), filters=params.get("Filters"),
            max_results=params.get("MaxResults"), next_token=params.get("NextToken"))
        return ActionResult({"Associations": associations, "NextToken": next_token})

    def update_data_repository_association(self):
        association = self.fsx_backend.update_data_repository_association(json.loads(self.body))
        return ActionResult({"Association": association})

    def delete_data_repository_association(self):
        params = json.loads(self.body)
        # The output shape (AssociationId, Lifecycle, DeleteDataInFileSystem) is read off the association itself.
        return ActionResult(self.fsx_backend.delete_data_repository_association(
            params.get("AssociationId"), params.get("DeleteDataInFileSystem", False)))


def _mount_name(lustre_configuration):
    """'fsx' for SCRATCH_1 (as on AWS), else 8 random lowercase alphanumerics, fixed for the file system's life."""
    if lustre_configuration.get("DeploymentType") == "SCRATCH_1":
        return "fsx"
    return "".join(secrets.SystemRandom().choices(string.ascii_lowercase + string.digits, k=8))


def _ec2(backend):
    return ec2_backends[backend.account_id][backend.region_name]


def _network(backend, subnet_ids, security_group_ids):
    """The subnets a new file system goes into; InvalidNetworkSettings for a subnet or group that does not exist."""
    ec2 = _ec2(backend)
    subnets = []
    for subnet_id in subnet_ids or []:
        try:
            subnets.append(ec2.get_subnet(subnet_id))
        except InvalidSubnetIdError as error:
            raise InvalidNetworkSettings(f"The subnet ID '{subnet_id}' does not exist",
                                         invalid_subnet_id=subnet_id) from error
    for group_id in security_group_ids or []:
        if ec2.get_security_group_from_id(group_id) is None:
            raise InvalidNetworkSettings(f"The security group ID '{group_id}' does not exist",
                                         invalid_security_group_id=group_id)
    return subnets


def _reidentify(backend, file_system):
    """Give the file system an AWS-length id (fs- and 17 hex digits), with its ARN, DNS name and tags."""
    old_id, old_arn = file_system.file_system_id, file_system.resource_arn
    tags = backend.tagger.list_tags_for_resource(old_arn)["Tags"]
    backend.tagger.delete_all_tags_for_resource(old_arn)
    new_id = f"fs-{secrets.token_hex(9)[:17]}"
    file_system.file_system_id = new_id
    file_system.resource_arn = old_arn.replace(old_id, new_id)
    file_system.dns_name = file_system.dns_name.replace(old_id, new_id)
    if tags:
        backend.tagger.tag_resource(file_system.resource_arn, tags)
    backend.file_systems[new_id] = backend.file_systems.pop(old_id)


def _attach_network(backend, file_system, subnets):
    """VpcId and one requester-managed network interface per subnet, carrying the file system's security groups
    (pcluster describes these interfaces to check that its nodes' groups can reach the file system)."""
    file_system.vpc_id = subnets[0].vpc_id if subnets else None
    file_system.network_interface_ids = []
    for subnet in subnets:
        interface = _ec2(backend).create_network_interface(
            subnet, None, group_ids=list(file_system.security_group_ids or []),
            description=f"ENI for FSx file system {file_system.file_system_id}")
        interface.requester_managed = True
        file_system.network_interface_ids.append(interface.id)


def _release_network(backend, file_system):
    """Delete the file system's interfaces through EC2, which frees their addresses (ec2_addresses)."""
    ec2 = _ec2(backend)
    for interface_id in getattr(file_system, "network_interface_ids", None) or []:
        if interface_id in ec2.enis:
            ec2.delete_network_interface(interface_id)


def _complete_file_system(backend, file_system, file_system_type_version, subnets):
    """Give a new file system what AWS reports and moto lacks: id, network, owner, time, Lustre version, mount name."""
    _reidentify(backend, file_system)
    _attach_network(backend, file_system, subnets)
    file_system.owner_id = backend.account_id
    file_system.creation_time = datetime.datetime.now(datetime.timezone.utc).timestamp()  # JSON: epoch seconds
    if file_system.file_system_type != "LUSTRE":
        return
    file_system.file_system_type_version = file_system_type_version or DEFAULT_LUSTRE_VERSION
    lustre = {"DeploymentType": "SCRATCH_1", **(file_system.lustre_configuration or {})}  # SCRATCH_1: AWS default
    file_system.lustre_configuration = {**lustre, "MountName": _mount_name(lustre)}


def _wrap_init(original):
    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.data_repository_associations = {}  # id -> DataRepositoryAssociation, in creation order

    return __init__


def _wrap_create_file_system(original):
    @functools.wraps(original)
    def create_file_system(self, *args, **kwargs):
        subnets = _network(self, kwargs.get("subnet_ids"), kwargs.get("security_group_ids"))  # before anything exists
        file_system = original(self, *args, **kwargs)
        _complete_file_system(self, file_system, kwargs.get("file_system_type_version"), subnets)
        return file_system

    return create_file_system


def _refuse_unknown(backend, file_system_ids):
    for file_system_id in file_system_ids or []:
        if file_system_id not in backend.file_systems:
            raise FileSystemNotFound(file_system_id)


def _wrap_describe_file_systems(original):
    """An id that names no file system is FileSystemNotFound, as on AWS (moto leaves it out of the list)."""

    @functools.wraps(original)
    def describe_file_systems(self, *args, **kwargs):
        _refuse_unknown(self, kwargs.get("file_system_ids"))
        return original(self, *args, **kwargs)

    return describe_file_systems


def _wrap_delete_file_system(original):
    """Deleting a file system takes its associations (and their tags) and network interfaces with it, as on AWS;
    an unknown id is FileSystemNotFound (moto: KeyError, HTTP 500)."""

    @functools.wraps(original)
    def delete_file_system(self, *args, **kwargs):
        file_system_id = kwargs.get("file_system_id", args[0] if args else None)
        _refuse_unknown(self, [file_system_id])
        _release_network(self, self.file_systems[file_system_id])
        result = original(self, *args, **kwargs)
        with _LOCK:
            for association in [a for a in self.data_repository_associations.values() if a.file_system_id == file_system_id]:
                self._forget_association(association)
        return result

    return delete_file_system


def _wrap_iter_tagged_resources(original):
    """Associations are taggable resources too (Resource Groups Tagging API)."""

    @functools.wraps(original)
    def iter_tagged_resources(self):
        yield from original(self)
        with _LOCK:
            associations = list(self._associations().values())
        for association in associations:
            yield TaggedResource(arn=association.resource_arn, resource_type="fsx:association",
                                 tags=self.tagger.get_tag_dict_for_resource(association.resource_arn))

    return iter_tagged_resources


# Description member -> FileSystem attribute that _complete_file_system sets (absent on what moto made before).
_COMPLETED_MEMBERS = {
    "FileSystemTypeVersion": "file_system_type_version",
    "VpcId": "vpc_id",
    "NetworkInterfaceIds": "network_interface_ids",
    "OwnerId": "owner_id",
    "CreationTime": "creation_time",
}


def _wrap_to_dict(original):
    """moto creates file systems instantly, so they are AVAILABLE as soon as they are described."""

    @functools.wraps(original)
    def to_dict(self):
        description = {**original(self), "Lifecycle": "AVAILABLE"}
        for member, attribute in _COMPLETED_MEMBERS.items():
            if getattr(self, attribute, None):
                description[member] = getattr(self, attribute)
        return description

    return to_dict


def _graft(target, source):
    """Copy every function defined in class ``source`` onto class ``target``."""
    for name, value in vars(source).items():
        if inspect.isfunction(value):
            setattr(target, name, value)


def install():
    _graft(FSxBackend, _BackendMethods)
    _graft(FSxResponse, _ResponseMethods)
    FSxBackend.__init__ = _wrap_init(FSxBackend.__init__)
    FSxBackend.create_file_system = _wrap_create_file_system(FSxBackend.create_file_system)
    FSxBackend.describe_file_systems = _wrap_describe_file_systems(FSxBackend.describe_file_systems)
    FSxBackend.delete_file_system = _wrap_delete_file_system(FSxBackend.delete_file_system)
    FSxBackend.iter_tagged_resources = _wrap_iter_tagged_resources(FSxBackend.iter_tagged_resources)
    FileSystem.to_dict = _wrap_to_dict(FileSystem.to_dict)
