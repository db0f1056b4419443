"""Gap 7: instances configured by their launch template, placed in the subnet (and groups) it names.

- pcluster's head node is an ``AWS::EC2::Instance`` whose image, type, network and tags come only from its
  LaunchTemplate; stock moto reads ``Properties.ImageId`` directly and fails (``KeyError 'ImageId'``, reported to
  the client as an undefined resource). On AWS the instance takes every setting its properties leave out from the
  template version it names.
- moto takes an instance's subnet from ``SubnetId`` only, and ignores a launch template's ``NetworkInterfaces``
  (RunInstances, CreateFleet, CloudFormation): every head node landed in the default VPC's subnet (172.31.0.0/20),
  outside the claimed subnet its configuration names, and a compute instance launched from its queue's template
  (as the head node's clustermgtd does; pcluster's templates launch no compute instance themselves) would have too.
  Here an instance runs where its network interfaces say, as on AWS: the primary interface's subnet and groups, or
  the interface it names by id (pcluster's ``HeadNodeENI``, attached as the primary interface: the instance takes
  its subnet, zone, address and groups). Interfaces the launch creates are deleted on termination unless their
  ``DeleteOnTermination`` is false, as on AWS (moto made them all false; ``ec2_addresses`` frees their addresses).
  An instance given no subnet at all runs in its zone's default subnet (moto gave it a random address outside it).
- moto models one network card: interfaces on another ``NetworkCardIndex`` are left out.
"""

from moto.ec2.models import ec2_backends
from moto.ec2.models.fleets import Fleet
from moto.ec2.models.instances import Instance, InstanceBackend

from .ec2_block_devices import ebs_mappings

_stock = {}  # the methods replaced here, as they were when install() ran (ec2_block_devices wraps run_instances too)


def _template(backend, launch_template):
    return backend._get_template_from_args(launch_template).data  # pylint: disable=protected-access


def _flag(value, default=None):
    """A boolean of a template or an API call (CloudFormation may give "true"/"false")."""
    if value is None:
        return default
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def network_arguments(backend, interfaces, groups_key="Groups"):
    """The RunInstances arguments (subnet_id, security_group_ids, placement, nics) that put an instance where these
    network interfaces say. ``groups_key``: "Groups" in launch templates and the API, "GroupSet" in an
    ``AWS::EC2::Instance``'s own NetworkInterfaces."""
    arguments, nics, primary_subnet = {}, [], None
    for interface in sorted(interfaces or [], key=lambda i: int(i.get("DeviceIndex") or 0)):
        if int(interface.get("NetworkCardIndex") or 0) != 0:
            continue
        device = int(interface.get("DeviceIndex") or 0)
        nic = {"DeviceIndex": device}
        if interface.get("NetworkInterfaceId"):
            nic["NetworkInterfaceId"] = interface["NetworkInterfaceId"]
            if device == 0:  # the instance is where its primary interface is, with that interface's groups
                eni = backend.get_network_interface(interface["NetworkInterfaceId"])
                arguments["placement"] = eni.subnet.availability_zone
                arguments["security_group_ids"] = [group.id for group in eni._group_set]  # pylint: disable=protected-access
        else:
            groups = list(interface.get(groups_key) or [])
            subnet = interface.get("SubnetId")
            if device == 0:
                primary_subnet = subnet
                if subnet:
                    arguments["subnet_id"] = subnet
                if groups:
                    arguments["security_group_ids"] = groups
            else:
                nic["SubnetId"] = subnet or primary_subnet or arguments.get("subnet_id")
                nic["Groups"] = groups
                if not nic["SubnetId"]:
                    del nic["SubnetId"]
            nic["DeleteOnTermination"] = _flag(interface.get("DeleteOnTermination"), True)
            if interface.get("AssociatePublicIpAddress") is not None:
                nic["AssociatePublicIpAddress"] = _flag(interface["AssociatePublicIpAddress"])
            for key in ("PrivateIpAddress", "Description"):
                if interface.get(key):
                    nic[key] = interface[key]
        nics.append(nic)
    if nics:
        arguments["nics"] = nics
    return arguments


def _run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
    """RunInstances: with a launch template, the template's network interfaces unless the call names its own; the
    interfaces the launch makes are deleted on termination unless the call says otherwise; with no subnet at all, the
    default subnet of the instance's zone (moto drew a random address outside it)."""
    if kwargs.get("launch_template") and not kwargs.get("subnet_id") and not kwargs.get("nics"):
        network = network_arguments(self, _template(self, kwargs["launch_template"]).get("NetworkInterfaces"))
        if kwargs.get("security_group_ids") or security_group_names:
            network.pop("security_group_ids", None)  # the call's own groups win
        kwargs.update({key: value for key, value in network.items() if value})
    nics = [dict(nic) for nic in kwargs.get("nics") or [{"DeviceIndex": 0}]]
    for nic in nics:
        if not nic.get("NetworkInterfaceId"):
            nic["DeleteOnTermination"] = _flag(nic.get("DeleteOnTermination"), True)
    kwargs["nics"] = nics
    if not kwargs.get("subnet_id") and not any(nic.get("SubnetId") or nic.get("NetworkInterfaceId") for nic in nics):
        zone = kwargs.get("placement") or f"{self.region_name}a"
        default = self.get_default_subnets().get(zone)
        if default is not None:
            kwargs["subnet_id"] = default.id
    return _stock["run_instances"](self, image_id, count, user_data, security_group_names, **kwargs)


def _launch_from_templates(method):
    """A fleet's launch specifications take the subnet and groups of their template's primary interface, unless
    an override names a subnet (moto reads only a top-level SubnetId, which launch templates do not have)."""

    def wrapper(self, *args, **kwargs):
        for spec in self.launch_specs:
            if spec.subnet_id or not spec.launch_template_spec:
                continue
            network = network_arguments(self.ec2_backend, _template(self.ec2_backend, spec.launch_template_spec).get(
                "NetworkInterfaces"))
            spec.subnet_id = network.get("subnet_id")
            if network.get("security_group_ids") and not spec.group_set:
                spec.group_set = network["security_group_ids"]
        return method(self, *args, **kwargs)

    wrapper.__name__ = method.__name__
    return wrapper


def _create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # pylint: disable=unused-argument
    """An ``AWS::EC2::Instance``: its own properties, completed from its launch template as EC2 does."""
    properties = cloudformation_json.get("Properties", {})
    backend = ec2_backends[account_id][region_name]
    launch_template = properties.get("LaunchTemplate") or {}
    template = _template(backend, launch_template) if launch_template else {}
    arguments = {
        "instance_type": properties.get("InstanceType") or template.get("InstanceType") or "m1.small",
        "is_instance_type_default": not (properties.get("InstanceType") or template.get("InstanceType")),
        "key_name": properties.get("KeyName") or template.get("KeyName"),
        "private_ip": properties.get("PrivateIpAddress"),
        "placement": properties.get("AvailabilityZone"),
        "region_name": region_name,
        "security_group_ids": list(properties.get("SecurityGroupIds") or []),
        "launch_template": launch_template,
        "block_device_mappings": ebs_mappings(properties.get("BlockDeviceMappings") or template.get("BlockDeviceMappings")),
    }
    if properties.get("NetworkInterfaces"):
        network = network_arguments(backend, properties["NetworkInterfaces"], "GroupSet")
    elif properties.get("SubnetId"):
        network = {"subnet_id": properties["SubnetId"]}
    else:
        network = network_arguments(backend, template.get("NetworkInterfaces"))
    if arguments["security_group_ids"] or properties.get("SecurityGroups"):
        network.pop("security_group_ids", None)
    elif not network.get("security_group_ids") and template.get("SecurityGroupIds"):
        network["security_group_ids"] = list(template["SecurityGroupIds"])
    arguments.update({key: value for key, value in network.items() if value})
    reservation = backend.run_instances(properties.get("ImageId") or template.get("ImageId"), 1,
                                        properties.get("UserData") or template.get("UserData"),
                                        list(properties.get("SecurityGroups") or []), **arguments)
    instance = reservation.instances[0]
    for tag in properties.get("Tags") or []:  # the template's own tags: added by moto (launch_template above)
        instance.add_tag(tag["Key"], tag["Value"])
    profile = properties.get("IamInstanceProfile") or template.get("IamInstanceProfile")
    if isinstance(profile, dict):
        profile = profile.get("Name") or profile.get("Arn", "").rsplit("/", 1)[-1]
    if profile:
        backend.associate_iam_instance_profile(instance_id=instance.id, iam_instance_profile_name=profile)
    return instance


def install():
    _stock["run_instances"] = InstanceBackend.run_instances
    InstanceBackend.run_instances = _run_instances
    for name in ("create_on_demand_requests", "create_spot_requests"):
        setattr(Fleet, name, _launch_from_templates(getattr(Fleet, name)))
    Instance.create_from_cloudformation_json = classmethod(_create_from_cloudformation_json)
