"""Fills for the gaps of stock moto that stop the real pcluster.lib (see shared notes, aws-emulator.md).

Each module fills one gap and exposes ``install()``; ``install_all()`` applies them once, in-process,
before the server starts. Nothing is written into site-packages.
"""

import importlib

# Module names, in the order they are installed; the comment names the gap numbers of the notes.
FILLS = (
    "ec2_block_devices",  # 1: instance-store and AMI-sized mappings in RunInstances
    "policy_statements",  # 4: statements apply only when their principal and conditions match (S3 bucket policy)
    "cfn_resource_types",  # 5, 9: alarms, metric filters, SG egress, custom resources, wait conditions in CloudFormation
    "cfn_instance_launch_template",  # 7: instances configured by their launch template
    "cfn_stacks",  # 6, 8: nested stack outputs, held DELETE_IN_PROGRESS; stack timings and CREATE_FAILED fault
    "compute_fleet",  # 10: the head node's COMPUTE_FLEET item and its status transitions
    "fsx",  # 11, 12: data repository associations; file system Lifecycle/MountName/FileSystemTypeVersion
)

_installed = False


def install_all():
    global _installed  # pylint: disable=global-statement  # install once per process
    if _installed:
        return
    for name in FILLS:
        importlib.import_module(f"{__name__}.{name}").install()
    _installed = True
