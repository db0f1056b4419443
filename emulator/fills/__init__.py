"""Fills for the gaps of stock moto that stop the real pcluster.lib (numbered as in emulator/README.md, gap notes).

Each module fills one gap and exposes ``install()``. A fill is installed, once, when moto first builds
the app of a service that needs it (moto itself loads a service's backend only then), so that the
emulator starts without importing EC2, CloudFormation or any other backend. Nothing is written into
site-packages.
"""

import importlib
import threading

ANY_SERVICE = "*"

# Module name -> moto services whose first request installs it; the comment names the gaps it fills.
FILLS = {
    "ec2_block_devices": {"ec2", "cloudformation"},  # 1: instance-store and AMI-sized mappings in RunInstances
    "policy_statements": {ANY_SERVICE},  # 4: statements apply only when their principal and conditions match
    "cfn_resource_types": {"cloudformation"},  # 5, 9: alarms, metric filters, SG egress, custom resources, waits
    # 7: instances configured by their launch template, in the subnet and groups its network interfaces name
    "cfn_instance_launch_template": {"ec2", "cloudformation"},
    # addresses freed by terminated instances and deleted interfaces; a stack's interfaces deleted with it. Also for
    # the services whose resources hold interfaces (FSx file systems, EFS mount targets).
    "ec2_addresses": {"ec2", "cloudformation", "fsx", "efs"},
    # 6, 8: nested stack outputs and updates, held DELETE_IN_PROGRESS, faults; failed resources fail their stack
    "cfn_stacks": {"cloudformation"},
    "compute_fleet": {"dynamodb"},  # 10: the head node's COMPUTE_FLEET item and its status transitions
    # 11, 12: data repository associations; file system Lifecycle/MountName/FileSystemTypeVersion. Also for
    # CloudFormation, whose stacks make file systems through this backend (cfn_fsx).
    "fsx": {"fsx", "cloudformation"},
    "cfn_fsx": {"cloudformation"},  # FSx file systems and associations, EFS updates and tags in cluster stacks
    # FSx for Lustre data plane (--fsx-data-dir): content on disk, S3 auto import, data repository tasks. After fsx,
    # whose file system creation it wraps; it wraps S3's writes too (no association exists before FSx is used).
    "fsx_data": {"fsx", "cloudformation"},
    # templates parsed outside the middleware's lock, with libyaml: a CreateStack no longer holds every other request
    "cfn_templates": {"cloudformation"},
}

_installed = set()
_lock = threading.Lock()  # the server's threads may build two services' apps at once


def install_for(service):
    """Install (once) every fill that the first request to ``service`` needs."""
    with _lock:
        for name, services in FILLS.items():
            if name not in _installed and (service in services or ANY_SERVICE in services):
                importlib.import_module(f"{__name__}.{name}").install()
                _installed.add(name)


def install_all():
    """Install every fill now (in-process use, where no app is built per service)."""
    for service in {service for services in FILLS.values() for service in services}:
        install_for(service)
