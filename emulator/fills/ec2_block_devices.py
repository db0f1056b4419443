"""Gap 1: RunInstances rejects block device mappings that AWS accepts.

pcluster's launch template validators dry-run RunInstances with instance-store mappings
(``{"DeviceName": ..., "VirtualName": "ephemeralN"}``) and a root mapping whose size comes from the
AMI's snapshot. Stock moto answers "The request must contain the parameter ebs" / "size or snapshotId".
"""

from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.instances import InstanceResponse

# moto's own size for a root volume it makes up; on AWS the AMI's snapshot size applies.
DEFAULT_VOLUME_GIB = 8

_stock_validate = InstanceResponse._validate_block_device_mapping  # pylint: disable=protected-access
_stock_run_instances = InstanceBackend.run_instances


def _needs_no_size(mapping):
    """True for mappings AWS accepts without an EBS size: instance store, and EBS sized by the AMI."""
    if mapping.get("VirtualName"):
        return True
    ebs = mapping.get("Ebs")
    return ebs is not None and not ebs.get("VolumeSize") and not ebs.get("SnapshotId")


def _validate_block_device_mapping(mapping):
    if not _needs_no_size(mapping):
        _stock_validate(mapping)


def ebs_mappings(mappings):
    """The mappings that make an EBS volume, each with a size (instance store has no volume in moto)."""
    normalized = []
    for mapping in mappings or []:
        ebs = mapping.get("Ebs")
        if ebs is None or mapping.get("VirtualName"):
            continue
        if not ebs.get("VolumeSize") and not ebs.get("SnapshotId"):
            mapping = dict(mapping, Ebs=dict(ebs, VolumeSize=DEFAULT_VOLUME_GIB))
        normalized.append(mapping)
    return normalized


def _run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
    if "block_device_mappings" in kwargs:
        kwargs["block_device_mappings"] = ebs_mappings(kwargs["block_device_mappings"])
    elif kwargs.get("launch_template"):
        template = self._get_template_from_args(kwargs["launch_template"])  # pylint: disable=protected-access
        mappings = template.data.get("BlockDeviceMappings")
        if mappings:
            kwargs["block_device_mappings"] = ebs_mappings(mappings)
    return _stock_run_instances(self, image_id, count, user_data, security_group_names, **kwargs)


def install():
    InstanceResponse._validate_block_device_mapping = staticmethod(_validate_block_device_mapping)  # pylint: disable=protected-access
    InstanceBackend.run_instances = _run_instances
