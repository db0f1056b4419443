"""Subnet addresses as AWS counts them: freed by terminated instances and deleted network interfaces.

The collection's subnet claim takes a subnet as unused when its ``AvailableIpAddressCount`` is its size minus the 5
addresses AWS reserves; moto counts every network interface it still holds. Stock moto 5.2.5:

- kept the primary interface of a terminated instance (it makes it with DeleteOnTermination false; AWS with true)
  and left an interface it kept attached to the terminated instance: a subnet never looked unused again once a
  cluster had run in it. Here a terminated instance's interfaces made by its launch are deleted, unless their
  DeleteOnTermination is false, and the others are detached (``available``), as on AWS. Terminating an instance
  again changes nothing (moto failed deleting its interface twice).
- deleted neither an ``AWS::EC2::NetworkInterface`` with its stack (its ``delete`` takes no arguments, so
  CloudFormation's call failed and fell back to a no-op) nor gave it its ``GroupSet``, ``Tags``, ``SourceDestCheck``
  or ``SecondaryPrivateIpAddressCount`` (it read a ``SecurityGroups`` property that the type does not have).
  pcluster's head node interface is one; here it is made with these and deleted with its stack.
- drew the address of an interface made without one at random in the subnet's range (two interfaces could share
  one) and kept the address of an interface deleted through the API reserved. Here such an address comes from the
  subnet's own allocator, as an instance's does, and a deleted interface gives its addresses back.
"""

import copy

from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import Instance

_stock = {}  # the methods replaced here, as they were when install() ran


def _subnet_of(backend, subnet):
    return backend.get_subnet(subnet) if isinstance(subnet, str) else subnet


# moto's own signature (its API response passes groups, description and tags positionally).
def _create_network_interface(self, subnet, private_ip_address, private_ip_addresses=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
    """An interface's primary address comes from its subnet's allocator, and every address it holds is marked taken."""
    subnet = _subnet_of(self, subnet)
    if subnet is not None and not private_ip_address and not private_ip_addresses:
        private_ip_address = subnet.get_available_subnet_ip(instance=None)
    eni = _stock["create_network_interface"](self, subnet, private_ip_address, private_ip_addresses, *args, **kwargs)
    if subnet is not None:
        for address in eni.private_ip_addresses:
            ip = address.get("PrivateIpAddress")
            if ip and subnet._subnet_ips.get(ip) is None:  # pylint: disable=protected-access
                subnet._subnet_ips[ip] = eni  # pylint: disable=protected-access
                subnet._unused_ips.discard(ip)  # pylint: disable=protected-access
    return eni


def _release(eni):
    """The interface's addresses are free again, and it is attached to nothing."""
    for address in eni.private_ip_addresses:
        if address.get("PrivateIpAddress") and eni.subnet is not None:
            eni.subnet.del_subnet_ip(address["PrivateIpAddress"])
    eni.instance, eni.attachment_id, eni.attach_time, eni.status = None, None, None, "available"


def _delete_network_interface(self, eni_id):
    eni = self.enis.get(eni_id)
    _stock["delete_network_interface"](self, eni_id)  # NotFound for an unknown id, as before
    _release(eni)


def _delete_interface(self, account_id=None, region_name=None):  # pylint: disable=unused-argument
    """NetworkInterface.delete, also as CloudFormation calls it (with the account and region); gone already is gone."""
    if self.id in self.ec2_backend.enis:
        self.ec2_backend.delete_network_interface(self.id)


def _terminate(self):
    """Terminate: the interfaces the launch made go (unless DeleteOnTermination is false), the others are detached."""
    if self._state.name == "terminated":  # pylint: disable=protected-access
        return copy.copy(self._state)  # pylint: disable=protected-access
    interfaces = list(self.nics.values())
    previous = _stock["terminate"](self)  # deletes the interfaces whose DeleteOnTermination is true
    kept = [eni for eni in interfaces if eni.id in self.ec2_backend.enis]
    for eni in kept:
        if eni.instance is self:
            eni.instance, eni.attachment_id, eni.attach_time, eni.status = None, None, None, "available"
            eni.device_index = None
    # The address moto reserved for the instance itself: an interface that stays holds it, else it is free.
    held = {address["PrivateIpAddress"]: eni for eni in kept for address in eni.private_ip_addresses}
    subnet = next((eni.subnet for eni in interfaces if eni.subnet is not None and eni.subnet.id == self.subnet_id), None)
    for ip in self._private_ips:  # pylint: disable=protected-access
        if subnet is not None and subnet._subnet_ips.get(ip) is self:  # pylint: disable=protected-access
            if ip in held:
                subnet._subnet_ips[ip] = held[ip]  # pylint: disable=protected-access
            else:
                subnet.del_subnet_ip(ip)
    self._private_ips.clear()  # pylint: disable=protected-access  # else moto frees them again when it drops the instance
    return previous


def _create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # pylint: disable=unused-argument
    """``AWS::EC2::NetworkInterface`` with the properties CloudFormation documents."""
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

    properties = cloudformation_json.get("Properties", {})
    backend = ec2_backends[account_id][region_name]
    subnet = backend.get_subnet(properties["SubnetId"]) if properties.get("SubnetId") else None
    groups = list(properties.get("GroupSet") or properties.get("SecurityGroups") or [])
    tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags") or []}
    eni = backend.create_network_interface(
        subnet, properties.get("PrivateIpAddress"), group_ids=groups, description=properties.get("Description"),
        tags=tags, secondary_ips_count=properties.get("SecondaryPrivateIpAddressCount"))
    if properties.get("SourceDestCheck") is not None:
        value = properties["SourceDestCheck"]
        eni.source_dest_check = value.lower() == "true" if isinstance(value, str) else bool(value)
    return eni


def _delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # pylint: disable=unused-argument
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

    backend = ec2_backends[account_id][region_name]
    if resource_name in backend.enis:
        backend.delete_network_interface(resource_name)


def install():
    _stock["create_network_interface"] = NetworkInterfaceBackend.create_network_interface
    _stock["delete_network_interface"] = NetworkInterfaceBackend.delete_network_interface
    _stock["terminate"] = Instance.terminate
    NetworkInterfaceBackend.create_network_interface = _create_network_interface
    NetworkInterfaceBackend.delete_network_interface = _delete_network_interface
    NetworkInterface.delete = _delete_interface
    NetworkInterface.create_from_cloudformation_json = classmethod(_create_from_cloudformation_json)
    NetworkInterface.delete_from_cloudformation_json = classmethod(_delete_from_cloudformation_json)
    Instance.terminate = _terminate
