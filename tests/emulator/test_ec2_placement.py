"""Instances run where their launch template says, and subnet addresses are counted as AWS counts them.

The collection's subnet claim hands out a subnet only while it is wholly unused (``AvailableIpAddressCount`` equal to
its size minus the 5 addresses AWS reserves: ``subnet_claim.is_unused``). Stock moto 5.2.5 put every head node in
the default VPC's subnet, kept the addresses of terminated instances and left a stack's network interfaces behind, so
a subnet never looked unused again once a cluster had been in it.
"""

import ipaddress
import json

from test_pcluster_lifecycle import REGION, pc, wait_for  # pylint: disable=unused-import  # pc: the fixture

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim

PREFIX = "plc"
SUBNETS = 2


def subnet(emu, subnet_id):
    return emu.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]


def in_use(emu, subnet_id):
    """Addresses of the subnet in use, as its AvailableIpAddressCount tells."""
    described = subnet(emu, subnet_id)
    return ipaddress.ip_network(described["CidrBlock"]).num_addresses - 5 - described["AvailableIpAddressCount"]


def interfaces(emu, subnet_id):
    return emu.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])["NetworkInterfaces"]


def placed(instance, subnet_description, groups):
    """(subnet, address in its CIDR, groups): where an instance runs."""
    address = ipaddress.ip_address(instance["PrivateIpAddress"])
    return (instance["SubnetId"], address in ipaddress.ip_network(subnet_description["CidrBlock"]),
            sorted(g["GroupId"] for g in instance["SecurityGroups"])) == (subnet_description["SubnetId"], True, groups)


def test_cluster_runs_in_its_claimed_subnet_and_leaves_it_unused(emu, pc, zone):
    """pcluster.lib create in a claimed subnet: the head node (and a compute node launched from its queue's template,
    as clustermgtd would) runs there; after the delete the subnet is wholly unused again, with no interface left."""
    ec2, name = emu.client("ec2"), "plc-placed"
    claimed = subnet(emu, zone["subnet_ids"][1]["id"])  # the module's other tests use the first
    table = zone["claim_table"]
    assert subnet_claim.is_unused(claimed)
    assert subnet_claim.put_claim(emu.client("dynamodb"), table, name, claimed)
    group = zone["security_group_id"]
    config = {
        "Image": {"Os": "alinux2023", "CustomAmi": zone["ami_id"]},
        "HeadNode": {"InstanceType": "t3.medium", "Networking": {"SubnetId": claimed["SubnetId"], "SecurityGroups": [group]}},
        "Scheduling": {"Scheduler": "slurm", "SlurmQueues": [{
            "Name": "debug", "ComputeResources": [{"Name": "t3micro", "InstanceType": "t3.micro", "MinCount": 0, "MaxCount": 4}],
            "Networking": {"SubnetIds": [claimed["SubnetId"]], "SecurityGroups": [group]}}]},
    }
    try:
        pc.create_cluster(cluster_name=name, cluster_configuration=config, region=REGION)
        described = wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "CREATE_COMPLETE", timeout=60)
        head_ip = described["headNode"]["privateIpAddress"]
        (head,) = ec2.describe_instances(InstanceIds=[described["headNode"]["instanceId"]])["Reservations"][0]["Instances"]
        assert placed(head, claimed, [group]), head
        assert head["PrivateIpAddress"] == head_ip and head["Placement"]["AvailabilityZone"] == claimed["AvailabilityZone"]
        assert head["NetworkInterfaces"][0]["Description"] == "AWS ParallelCluster head node interface"  # HeadNodeENI
        assert not subnet_claim.is_unused(subnet(emu, claimed["SubnetId"]))

        template = f"{name}-debug-t3micro"  # the queue's compute launch template, named by pcluster
        run = ec2.run_instances(LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"}, MinCount=1,
                                MaxCount=1, ImageId=zone["ami_id"], InstanceType="t3.micro")["Instances"][0]
        fleet = ec2.create_fleet(Type="instant", LaunchTemplateConfigs=[{"LaunchTemplateSpecification": {
            "LaunchTemplateName": template, "Version": "$Latest"}, "Overrides": [{"InstanceType": "t3.micro"}]}],
            TargetCapacitySpecification={"TotalTargetCapacity": 1, "DefaultTargetCapacityType": "on-demand"})
        compute_ids = [run["InstanceId"]] + [i for instance in fleet["Instances"] for i in instance["InstanceIds"]]
        computes = [i for r in ec2.describe_instances(InstanceIds=compute_ids)["Reservations"] for i in r["Instances"]]
        assert len(computes) == 2 and all(placed(c, claimed, [group]) for c in computes), computes
        assert in_use(emu, claimed["SubnetId"]) == 3
        ec2.terminate_instances(InstanceIds=compute_ids)  # clustermgtd's part on delete
        assert in_use(emu, claimed["SubnetId"]) == 1
    finally:
        pc.delete_cluster(cluster_name=name, region=REGION)
        wait_for(pc, name, lambda d: type(d).__name__ == "NotFoundException", timeout=60)
        subnet_claim.delete_claim(emu.client("dynamodb"), table, name, claimed["SubnetId"])
    after = subnet(emu, claimed["SubnetId"])
    assert after["AvailableIpAddressCount"] == 256 - 5 and subnet_claim.is_unused(after)
    assert interfaces(emu, claimed["SubnetId"]) == []


def test_terminating_an_instance_frees_its_address(emu, zone):
    ec2, subnet_id = emu.client("ec2"), zone["subnet_ids"][0]["id"]
    before = in_use(emu, subnet_id)
    instance = ec2.run_instances(ImageId=zone["ami_id"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                 SubnetId=subnet_id)["Instances"][0]
    assert in_use(emu, subnet_id) == before + 1
    (interface,) = instance["NetworkInterfaces"]
    assert interface["Attachment"]["DeleteOnTermination"] is True  # as EC2 makes a launch's interfaces
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    assert in_use(emu, subnet_id) == before
    assert interface["NetworkInterfaceId"] not in {i["NetworkInterfaceId"] for i in interfaces(emu, subnet_id)}
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])  # again: nothing changes, no error
    again = ec2.run_instances(ImageId=zone["ami_id"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                              SubnetId=subnet_id)["Instances"][0]
    assert again["PrivateIpAddress"] == instance["PrivateIpAddress"]  # the freed address is handed out again
    ec2.terminate_instances(InstanceIds=[again["InstanceId"]])
    assert in_use(emu, subnet_id) == before


def test_an_interface_kept_on_termination_is_detached_and_frees_its_address_when_deleted(emu, zone):
    ec2, subnet_id = emu.client("ec2"), zone["subnet_ids"][0]["id"]
    before = in_use(emu, subnet_id)
    instance = ec2.run_instances(ImageId=zone["ami_id"], InstanceType="t3.micro", MinCount=1, MaxCount=1, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet_id, "DeleteOnTermination": False}])["Instances"][0]
    interface_id = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    (kept,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])["NetworkInterfaces"]
    assert kept["Status"] == "available" and "Attachment" not in kept
    assert in_use(emu, subnet_id) == before + 1
    ec2.delete_network_interface(NetworkInterfaceId=interface_id)
    assert in_use(emu, subnet_id) == before
    made = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]  # its address comes from the subnet
    assert made["PrivateIpAddress"] == kept["PrivateIpAddress"]
    ec2.delete_network_interface(NetworkInterfaceId=made["NetworkInterfaceId"])


def test_a_stacks_network_interface_has_its_groups_and_goes_with_the_stack(emu, zone):
    cloudformation, subnet_id, group = emu.client("cloudformation"), zone["subnet_ids"][0]["id"], zone["security_group_id"]
    before = in_use(emu, subnet_id)
    template = {"Resources": {"Eni": {"Type": "AWS::EC2::NetworkInterface", "Properties": {
        "SubnetId": subnet_id, "GroupSet": [group], "SourceDestCheck": False, "Description": "plc stack interface",
        "Tags": [{"Key": "Name", "Value": "plc-eni"}]}}}}
    cloudformation.create_stack(StackName="plc-eni", TemplateBody=json.dumps(template))
    (made,) = [i for i in interfaces(emu, subnet_id) if i["Description"] == "plc stack interface"]
    assert [g["GroupId"] for g in made["Groups"]] == [group] and made["SourceDestCheck"] is False
    assert {"Key": "Name", "Value": "plc-eni"} in made["TagSet"]
    assert in_use(emu, subnet_id) == before + 1
    emu.control("POST", "settings", {"stack_delete_seconds": 0})
    cloudformation.delete_stack(StackName="plc-eni")
    cloudformation.describe_stacks()  # settles the deletion
    assert not [i for i in interfaces(emu, subnet_id) if i["Description"] == "plc stack interface"]
    assert in_use(emu, subnet_id) == before
