"""Shared storage that a stack creates (fills/cfn_fsx.py), and stacks whose resource creation fails (fills/cfn_stacks.py).

Stock moto 5.2.5 has no AWS::FSx::FileSystem or AWS::FSx::DataRepositoryAssociation model: a cluster that creates
its FSx for Lustre file system fails with "Fn::GetAtt references undefined resource FSX...", and the half-made stack
then answers every DescribeStacks with HTTP 500 until the emulator restarts. Each test here fails on stock moto.
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

# pc (pcluster.lib bound to the emulator) and zone (its landing zone) are fixtures, shared by importing them.
from test_pcluster_lifecycle import REGION, cluster_config, is_gone, pc, wait_for, zone  # pylint: disable=unused-import

QUICK = {"stack_delete_seconds": 0, "dra_create_seconds": 0, "dra_update_seconds": 0, "dra_delete_seconds": 0}
MISSING_SUBNET = "subnet-0123456789abcdef0"


@pytest.fixture(scope="module")
def network(emulator):
    ec2 = emulator.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.78.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    return {"vpc_id": vpc_id, "subnet_id": subnet_id}


@pytest.fixture
def quick(emu):
    emu.control("POST", "settings", QUICK)
    return emu


def lustre_template(network, subnet_id=None, **lustre):
    """A security group, a PERSISTENT_2 file system in it with one association, an EFS with a mount target; outputs
    every attribute pcluster or CloudFormation documents for them."""
    subnet_id = subnet_id or network["subnet_id"]
    resources = {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "fsx", "VpcId": network["vpc_id"]}},
        "Lustre": {"Type": "AWS::FSx::FileSystem", "Properties": {
            "FileSystemType": "LUSTRE", "StorageCapacity": 1200, "SubnetIds": [subnet_id],
            "SecurityGroupIds": [{"Ref": "Group"}], "FileSystemTypeVersion": "2.15",
            "LustreConfiguration": {"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": "125", **lustre},
            "Tags": [{"Key": "Name", "Value": "scratch"}]}},
        "Link": {"Type": "AWS::FSx::DataRepositoryAssociation", "Properties": {
            "FileSystemId": {"Ref": "Lustre"}, "FileSystemPath": "/project", "DataRepositoryPath": "s3://cfx-data/project",
            "S3": {"AutoImportPolicy": {"Events": ["NEW", "CHANGED"]}}}},
        "Home": {"Type": "AWS::EFS::FileSystem", "Properties": {"FileSystemTags": [{"Key": "Name", "Value": "home"}]}},
        "HomeTarget": {"Type": "AWS::EFS::MountTarget", "Properties": {
            "FileSystemId": {"Ref": "Home"}, "SubnetId": subnet_id, "SecurityGroups": [{"Ref": "Group"}]}},
    }
    outputs = {"Id": {"Ref": "Lustre"}, "LinkId": {"Ref": "Link"}, "HomeId": {"Ref": "Home"}}
    outputs.update({name: {"Fn::GetAtt": ["Lustre", name]} for name in ("LustreMountName", "DNSName", "ResourceARN")})
    outputs.update(LinkArn={"Fn::GetAtt": ["Link", "ResourceARN"]}, HomeArn={"Fn::GetAtt": ["Home", "Arn"]},
                   HomeTargetIp={"Fn::GetAtt": ["HomeTarget", "IpAddress"]})
    return {"Resources": resources, "Outputs": {name: {"Value": value} for name, value in outputs.items()}}


def outputs_of(cfn, name):
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs") or []}


def wait_stack_gone(cfn, name, timeout=10):
    deadline = time.monotonic() + timeout
    while name in [stack["StackName"] for stack in cfn.describe_stacks()["Stacks"]]:
        assert time.monotonic() < deadline, f"stack {name} still there"
        time.sleep(0.1)


def file_system_ids(emu):
    return {fs["FileSystemId"] for fs in emu.client("fsx").describe_file_systems()["FileSystems"]}


def efs_ids(emu):
    return {fs["FileSystemId"] for fs in emu.client("efs").describe_file_systems()["FileSystems"]}


def tags(described):
    return {tag["Key"]: tag["Value"] for tag in described.get("Tags") or []}


# Plain templates ------------------------------------------------------------------------------------------------


def test_template_creates_file_system_association_and_efs_with_attributes_and_tags(quick, network):
    cfn, fsx = quick.client("cloudformation"), quick.client("fsx")
    cfn.create_stack(StackName="cfx-plain", TemplateBody=json.dumps(lustre_template(network)),
                     Tags=[{"Key": "obp:costcenter:project", "Value": "p1"}])
    outputs = outputs_of(cfn, "cfx-plain")
    described = fsx.describe_file_systems(FileSystemIds=[outputs["Id"]])["FileSystems"][0]
    assert len(outputs["Id"]) == len("fs-") + 17  # through the fsx fill: an AWS-length id, mount name, ENIs
    assert outputs["LustreMountName"] == described["LustreConfiguration"]["MountName"]
    assert outputs["DNSName"] == described["DNSName"] and outputs["ResourceARN"] == described["ResourceARN"]
    assert described["NetworkInterfaceIds"] and described["VpcId"] == network["vpc_id"]
    assert described["LustreConfiguration"]["PerUnitStorageThroughput"] == 125  # a string in the template
    assert tags(described) == {"Name": "scratch", "obp:costcenter:project": "p1", "aws:cloudformation:stack-name": "cfx-plain",
                               "aws:cloudformation:logical-id": "Lustre",
                               "aws:cloudformation:stack-id": cfn.describe_stacks(StackName="cfx-plain")["Stacks"][0]["StackId"]}
    link = fsx.describe_data_repository_associations(AssociationIds=[outputs["LinkId"]])["Associations"][0]
    assert link["FileSystemId"] == outputs["Id"] and link["ResourceARN"] == outputs["LinkArn"]
    assert link["S3"]["AutoImportPolicy"]["Events"] == ["NEW", "CHANGED"] and tags(link)["obp:costcenter:project"] == "p1"
    home = quick.client("efs").describe_file_systems(FileSystemId=outputs["HomeId"])["FileSystems"][0]
    assert home["FileSystemArn"] == outputs["HomeArn"] and tags(home)["aws:cloudformation:logical-id"] == "Home"
    assert outputs["HomeTargetIp"].startswith("10.78.1.")

    cfn.delete_stack(StackName="cfx-plain")
    wait_stack_gone(cfn, "cfx-plain")
    assert outputs["Id"] not in file_system_ids(quick) and outputs["HomeId"] not in efs_ids(quick)
    assert not fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [outputs["Id"]]}])["Associations"]


def test_template_updates_in_place_or_replaces_as_cloudformation_documents(quick, network):
    cfn, fsx = quick.client("cloudformation"), quick.client("fsx")
    template = lustre_template(network)
    cfn.create_stack(StackName="cfx-update", TemplateBody=json.dumps(template))
    first = outputs_of(cfn, "cfx-update")

    # In place: capacity, a maintenance window, the association's policies, EFS throughput (moto: no EFS update).
    template["Resources"]["Lustre"]["Properties"]["StorageCapacity"] = 2400
    template["Resources"]["Lustre"]["Properties"]["LustreConfiguration"]["WeeklyMaintenanceStartTime"] = "1:03:00"
    template["Resources"]["Link"]["Properties"]["S3"] = {"AutoExportPolicy": {"Events": ["NEW"]}}
    template["Resources"]["Home"]["Properties"]["ThroughputMode"] = "elastic"
    cfn.update_stack(StackName="cfx-update", TemplateBody=json.dumps(template))
    assert outputs_of(cfn, "cfx-update") == first
    described = fsx.describe_file_systems(FileSystemIds=[first["Id"]])["FileSystems"][0]
    assert described["StorageCapacity"] == 2400
    assert described["LustreConfiguration"]["WeeklyMaintenanceStartTime"] == "1:03:00"
    assert described["LustreConfiguration"]["MountName"] == first["LustreMountName"]
    s3 = fsx.describe_data_repository_associations(AssociationIds=[first["LinkId"]])["Associations"][0]["S3"]
    assert s3 == {"AutoImportPolicy": {"Events": []}, "AutoExportPolicy": {"Events": ["NEW"]}}
    assert quick.client("efs").describe_file_systems(FileSystemId=first["HomeId"])["FileSystems"][0]["ThroughputMode"] == "elastic"

    # Replacement: another deployment type is another file system; the old one goes.
    template["Resources"]["Lustre"]["Properties"]["LustreConfiguration"]["DeploymentType"] = "PERSISTENT_1"
    cfn.update_stack(StackName="cfx-update", TemplateBody=json.dumps(template))
    replaced = outputs_of(cfn, "cfx-update")["Id"]
    assert replaced != first["Id"] and replaced in file_system_ids(quick) and first["Id"] not in file_system_ids(quick)

    cfn.delete_stack(StackName="cfx-update")
    wait_stack_gone(cfn, "cfx-update")
    assert replaced not in file_system_ids(quick) and first["HomeId"] not in efs_ids(quick)  # moto had forgotten the EFS


def test_retained_file_system_outlives_its_stack(quick, network):
    cfn = quick.client("cloudformation")
    template = lustre_template(network)
    template["Resources"]["Lustre"]["DeletionPolicy"] = "Retain"
    cfn.create_stack(StackName="cfx-retain", TemplateBody=json.dumps(template))
    file_system_id = outputs_of(cfn, "cfx-retain")["Id"]
    cfn.delete_stack(StackName="cfx-retain")
    wait_stack_gone(cfn, "cfx-retain")
    assert file_system_id in file_system_ids(quick)
    quick.client("fsx").delete_file_system(FileSystemId=file_system_id)


# Failed resource creation ---------------------------------------------------------------------------------------


def unknown_type_template(network):
    """The shape of the original failure: a resource reads an attribute of a resource of a type moto lacks."""
    template = lustre_template(network)
    template["Resources"]["Missing"] = {"Type": "AWS::Emulator::Missing", "Properties": {}}
    template["Resources"]["Lustre"]["Properties"]["Tags"].append(
        {"Key": "peer", "Value": {"Fn::GetAtt": ["Missing", "Arn"]}})
    return template, "Lustre", "references undefined resource Missing"


def missing_subnet_template(network):
    """A file system in a subnet that does not exist: the FSx backend refuses it."""
    return lustre_template(network, subnet_id=MISSING_SUBNET), "Lustre", f"InvalidNetworkSettings: The subnet ID '{MISSING_SUBNET}'"


@pytest.mark.parametrize("make_template", [unknown_type_template, missing_subnet_template])
@pytest.mark.parametrize("disable_rollback", [True, False], ids=["kept", "rolled-back"])
def test_failed_resource_fails_its_stack_only(quick, network, make_template, disable_rollback):
    cfn = quick.client("cloudformation")
    name = f"cfx-fail-{make_template.__name__.split('_')[0]}-{'kept' if disable_rollback else 'rb'}"
    template, failed, reason = make_template(network)
    before = file_system_ids(quick), efs_ids(quick)
    groups = len(quick.client("ec2").describe_security_groups()["SecurityGroups"])
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), DisableRollback=disable_rollback)

    stacks = {stack["StackName"]: stack for stack in cfn.describe_stacks()["Stacks"]}  # every stack, as pcluster lists
    status = "CREATE_FAILED" if disable_rollback else "ROLLBACK_COMPLETE"
    assert stacks[name]["StackStatus"] == status and "Outputs" not in stacks[name]
    assert stacks[name]["StackStatusReason"] == f"The following resource(s) failed to create: [{failed}]. "
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    failures = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED" and e["LogicalResourceId"] == failed]
    assert len(failures) == 1 and reason in failures[0]["ResourceStatusReason"], events
    resources = {r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName=name)["StackResources"]}
    # Made before the failure: kept, or deleted by the rollback. Nothing after it is ever made.
    assert resources == ({"Group"} if disable_rollback else set())
    assert (file_system_ids(quick), efs_ids(quick)) == before

    cfn.delete_stack(StackName=name)
    wait_stack_gone(cfn, name)
    assert len(quick.client("ec2").describe_security_groups()["SecurityGroups"]) == groups


def test_failed_nested_stack_fails_its_parent(quick, network):
    cfn, s3 = quick.client("cloudformation"), quick.client("s3")
    s3.create_bucket(Bucket="cfx-templates")
    s3.put_object(Bucket="cfx-templates", Key="nested.json",
                  Body=json.dumps(lustre_template(network, subnet_id=MISSING_SUBNET)).encode())
    parent = {"Resources": {"Storage": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": "https://cfx-templates.s3.amazonaws.com/nested.json"}}}}
    cfn.create_stack(StackName="cfx-parent", TemplateBody=json.dumps(parent), DisableRollback=True)

    stacks = {stack["StackName"]: stack for stack in cfn.describe_stacks()["Stacks"]}
    nested = [stack for name, stack in stacks.items() if name.startswith("cfx-parent-Storage")]
    assert stacks["cfx-parent"]["StackStatus"] == "CREATE_FAILED" and [s["StackStatus"] for s in nested] == ["CREATE_FAILED"]
    failure = next(e for e in cfn.describe_stack_events(StackName="cfx-parent")["StackEvents"]
                   if e["ResourceStatus"] == "CREATE_FAILED" and e["LogicalResourceId"] == "Storage")
    assert failure["ResourceStatusReason"] == (f"Embedded stack {nested[0]['StackId']} was not successfully created: "
                                               "The following resource(s) failed to create: [Lustre]. ")
    cfn.delete_stack(StackName="cfx-parent")  # deletes the failed nested stack with it
    wait_stack_gone(cfn, "cfx-parent")
    wait_stack_gone(cfn, nested[0]["StackName"])


def test_failed_update_is_refused_and_leaves_describe_working(quick, network):
    cfn = quick.client("cloudformation")
    template = lustre_template(network)
    cfn.create_stack(StackName="cfx-bad-update", TemplateBody=json.dumps(template))
    template["Resources"]["Extra"] = {"Type": "AWS::FSx::FileSystem", "Properties": dict(
        template["Resources"]["Lustre"]["Properties"], SubnetIds=[MISSING_SUBNET])}
    template["Outputs"]["Extra"] = {"Value": {"Ref": "Extra"}}
    with pytest.raises(ClientError) as raised:
        cfn.update_stack(StackName="cfx-bad-update", TemplateBody=json.dumps(template))
    assert "InvalidNetworkSettings" in raised.value.response["Error"]["Message"]
    assert "cfx-bad-update" in [stack["StackName"] for stack in cfn.describe_stacks()["Stacks"]]
    assert "Extra" not in {r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName="cfx-bad-update")["StackResources"]}
    cfn.delete_stack(StackName="cfx-bad-update")
    wait_stack_gone(cfn, "cfx-bad-update")


# The real pcluster.lib --------------------------------------------------------------------------------------------


def storage_config(zone, associations):
    scratch = zone["buckets"]["scratch"]
    return [
        {"Name": "scratch", "StorageType": "FsxLustre", "MountDir": "/scratch", "FsxLustreSettings": {
            "StorageCapacity": 1200, "DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125,
            "DataRepositoryAssociations": [{"Name": name, "FileSystemPath": f"/{name}",
                                            "DataRepositoryPath": f"s3://{scratch}/{name}"} for name in associations]}},
        {"Name": "shared", "StorageType": "Efs", "MountDir": "/shared", "EfsSettings": {"Encrypted": True}},
    ]


def test_pcluster_cluster_with_its_own_lustre_and_efs(emu, pc, zone):
    name = "cfx-lustre"
    config = dict(cluster_config(zone), SharedStorage=storage_config(zone, ["project"]),
                  Tags=[{"Key": "obp:costcenter:project", "Value": "p1"}])
    pc.create_cluster(cluster_name=name, cluster_configuration=config, region=REGION, rollback_on_failure=False)
    described = wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] != "CREATE_IN_PROGRESS")
    assert described["clusterStatus"] == "CREATE_COMPLETE", described

    fsx = emu.client("fsx")
    mine = [fs for fs in fsx.describe_file_systems()["FileSystems"]
            if tags(fs).get("parallelcluster:cluster-name") == name]
    assert len(mine) == 1
    lustre = mine[0]
    assert {"Name": "scratch", "obp:costcenter:project": "p1", "parallelcluster:version": "3.16.1"}.items() <= tags(lustre).items()
    assert lustre["Lifecycle"] == "AVAILABLE" and lustre["LustreConfiguration"]["MountName"]
    stack = emu.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["FSXIds"] == lustre["FileSystemId"]
    links = fsx.describe_data_repository_associations(
        Filters=[{"Name": "file-system-id", "Values": [lustre["FileSystemId"]]}])["Associations"]
    assert [link["FileSystemPath"] for link in links] == ["/project"]
    shared = [fs for fs in emu.client("efs").describe_file_systems()["FileSystems"]
              if tags(fs).get("parallelcluster:cluster-name") == name]
    assert [fs["Name"] for fs in shared] == ["shared"] and shared[0]["NumberOfMountTargets"] == 1

    # An association added by an update is made on the same file system.
    config["SharedStorage"] = storage_config(zone, ["project", "results"])
    pc.update_cluster(cluster_name=name, cluster_configuration=config, region=REGION)
    wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "UPDATE_COMPLETE")
    links = fsx.describe_data_repository_associations(
        Filters=[{"Name": "file-system-id", "Values": [lustre["FileSystemId"]]}])["Associations"]
    assert sorted(link["FileSystemPath"] for link in links) == ["/project", "/results"]

    pc.delete_cluster(cluster_name=name, region=REGION)
    wait_for(pc, name, is_gone)
    assert lustre["FileSystemId"] not in file_system_ids(emu) and shared[0]["FileSystemId"] not in efs_ids(emu)
