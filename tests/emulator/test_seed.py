"""The landing-zone seed (emulator/seed.py), run against the session emulator over HTTP.

Each test seeds under its own prefix, so the pieces of one test never meet another's.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.seed import AMI_TAGS, PCLUSTER_VERSION, require_loopback, seed

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPUTE_TAG = {"Name": "tag:HPC_Goal", "Values": ["compute_cluster"]}


def tags_of(resource, key="Tags"):
    return {tag["Key"]: tag["Value"] for tag in resource.get(key) or ()}


def run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "emulator.seed", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def writes(log):
    """{(service, operation): count} of the write calls in a request log."""
    return {(call["service"], call["operation"]): call["count"] for call in log["calls"] if call["kind"] == "write"}


@pytest.fixture(scope="module", name="landing_zone")
def fixture_landing_zone(emulator):
    """One landing zone with the default 8 subnets, shared by the attribute tests of this module."""
    return seed(emulator.endpoint, prefix="seedattr")


# --- what one run makes --------------------------------------------------------------------------

def test_vpc_is_private_and_tagged(landing_zone, emulator):
    ec2 = emulator.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[landing_zone["vpc_id"]])["Vpcs"][0]
    network = ipaddress.ip_network(vpc["CidrBlock"])
    assert network.prefixlen == 16 and network.subnet_of(ipaddress.ip_network("10.0.0.0/8"))
    assert tags_of(vpc)["Name"] == "seedattr-hpc"
    assert not ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    routes = [route for table in ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"] for route in table["Routes"]]
    assert not [route for route in routes if route.get("GatewayId", "").startswith("igw-")]
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]


def test_compute_subnets_are_tagged_24s_over_several_azs(landing_zone, emulator):
    ec2 = emulator.client("ec2")
    entries = landing_zone["subnet_ids"]
    assert len(entries) == 8
    subnets = ec2.describe_subnets(SubnetIds=[entry["id"] for entry in entries])["Subnets"]
    for subnet in subnets:
        assert ipaddress.ip_network(subnet["CidrBlock"]).prefixlen == 24
        assert subnet["VpcId"] == landing_zone["vpc_id"]
        assert tags_of(subnet)["HPC_Goal"] == "compute_cluster"
        assert tags_of(subnet)["Name"].startswith("seedattr-compute-")
    assert {subnet["AvailabilityZone"] for subnet in subnets} == {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"}
    assert {entry["az"] for entry in entries} == {subnet["AvailabilityZone"] for subnet in subnets}
    # Discovery by tag finds exactly the compute subnets: the services subnets are not handed out.
    discovered = ec2.describe_subnets(Filters=[COMPUTE_TAG, {"Name": "vpc-id", "Values": [landing_zone["vpc_id"]]}])
    assert {subnet["SubnetId"] for subnet in discovered["Subnets"]} == {entry["id"] for entry in entries}
    # ... and are wholly unused, as the provisioner's claim logic requires of a free subnet.
    assert not ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [entry["id"] for entry in entries]}])["NetworkInterfaces"]


def test_security_groups_are_tagged_and_self_referencing(landing_zone, emulator):
    ec2 = emulator.client("ec2")
    cluster_id, efa_id = landing_zone["security_group_id"], landing_zone["efa_security_group_id"]
    groups = {group["GroupId"]: group for group in ec2.describe_security_groups(GroupIds=[cluster_id, efa_id])["SecurityGroups"]}

    def allows_all_from_itself(group, direction):
        return any(rule["IpProtocol"] == "-1" and group["GroupId"] in [pair["GroupId"] for pair in rule["UserIdGroupPairs"]]
                   for rule in group[direction])

    for group in groups.values():
        assert tags_of(group)["HPC_Goal"] == "compute_cluster"
        assert group["VpcId"] == landing_zone["vpc_id"]
        assert allows_all_from_itself(group, "IpPermissions")
    assert allows_all_from_itself(groups[efa_id], "IpPermissionsEgress")
    discovered = ec2.describe_security_groups(Filters=[COMPUTE_TAG, {"Name": "vpc-id", "Values": [landing_zone["vpc_id"]]}])
    assert {group["GroupId"] for group in discovered["SecurityGroups"]} == {cluster_id, efa_id}


def test_home_efs_is_tagged_with_a_mount_target_per_az(landing_zone, emulator):
    efs = emulator.client("efs")
    file_system = efs.describe_file_systems(FileSystemId=landing_zone["efs_id"])["FileSystems"][0]
    assert tags_of(file_system)["HPC_Goal"] == "compute_cluster"
    assert tags_of(file_system)["Name"] == "seedattr-home"
    targets = efs.describe_mount_targets(FileSystemId=landing_zone["efs_id"])["MountTargets"]
    assert sorted(target["AvailabilityZoneName"] for target in targets) == sorted({entry["az"] for entry in landing_zone["subnet_ids"]})
    assert {target["SubnetId"] for target in targets} == {entry["id"] for entry in landing_zone["service_subnet_ids"]}
    for target in targets:
        assert efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])["SecurityGroups"] == [
            landing_zone["security_group_id"]]


def test_ami_is_what_pcluster_expects_and_builder_is_gone(landing_zone, emulator):
    ec2 = emulator.client("ec2")
    image = ec2.describe_images(ImageIds=[landing_zone["ami_id"]])["Images"][0]
    assert image["Architecture"] == "x86_64"
    assert image["State"] == "available"
    assert image["Name"].startswith(f"aws-parallelcluster-{PCLUSTER_VERSION}-amzn2023-hvm-x86_64-")
    assert tags_of(image).items() >= {"parallelcluster:version": "3.16.1", "parallelcluster:os": "alinux2023",
                                      "parallelcluster:build_status": "available"}.items()
    assert tags_of(image).items() >= AMI_TAGS.items()
    builders = [instance for reservation in ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": ["seedattr-ami-builder"]}])["Reservations"]
        for instance in reservation["Instances"]]
    assert builders and all(instance["State"]["Name"] == "terminated" for instance in builders)


def test_buckets_are_private_tagged_and_versioned_where_it_matters(landing_zone, emulator):
    s3 = emulator.client("s3")
    buckets = landing_zone["buckets"]
    assert set(buckets) == {"public", "private", "scratch", "infra_assets"}
    for role, name in buckets.items():
        assert name.startswith("seedattr-")
        s3.head_bucket(Bucket=name)
        assert tags_of(s3.get_bucket_tagging(Bucket=name), "TagSet")["Name"] == name
        assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
        expected = None if role == "scratch" else "Enabled"
        assert s3.get_bucket_versioning(Bucket=name).get("Status") == expected, role


def test_slurm_database_is_mariadb_with_its_password_in_a_secret(landing_zone, emulator):
    rds = landing_zone["rds"]
    instance = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=rds["instance_id"])["DBInstances"][0]
    assert instance["Engine"] == "mariadb"
    assert instance["EngineVersion"].startswith("10.11.")
    assert instance["Endpoint"] == {"Address": rds["endpoint"], "Port": rds["port"]}
    assert instance["MasterUsername"] == rds["master_username"]
    secretsmanager = emulator.client("secretsmanager")
    secret = secretsmanager.get_secret_value(SecretId="seedattr/slurmdbd/master")
    assert secret["ARN"] == rds["master_password_secret_arn"]
    credentials = json.loads(secret["SecretString"])
    assert set(credentials) == {"username", "password", "host", "port"}
    assert len(credentials["password"]) >= 16
    assert (credentials["username"], credentials["host"], credentials["port"]) == (
        rds["master_username"], rds["endpoint"], rds["port"])
    assert credentials["password"] not in json.dumps(landing_zone)


def test_claim_table_is_keyed_by_subnet_id(landing_zone, emulator):
    table = emulator.client("dynamodb").describe_table(TableName=landing_zone["claim_table"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "subnet_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "subnet_id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


# --- running again -------------------------------------------------------------------------------

def inventory(emu):
    """How many pieces of each kind the emulator holds (all prefixes)."""
    ec2, efs = emu.client("ec2"), emu.client("efs")
    file_systems = efs.describe_file_systems()["FileSystems"]
    return {
        "vpcs": len(ec2.describe_vpcs()["Vpcs"]),
        "subnets": len(ec2.describe_subnets()["Subnets"]),
        "security_groups": len(ec2.describe_security_groups()["SecurityGroups"]),
        "images": len(ec2.describe_images(Owners=["self"])["Images"]),
        "instances": sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"]),
        "file_systems": len(file_systems),
        "mount_targets": sum(len(efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"])
                             for fs in file_systems),
        "buckets": len(emu.client("s3").list_buckets()["Buckets"]),
        "secrets": len(emu.client("secretsmanager").list_secrets()["SecretList"]),
        "databases": len(emu.client("rds").describe_db_instances()["DBInstances"]),
        "tables": len(emu.client("dynamodb").list_tables()["TableNames"]),
    }


def test_second_run_creates_nothing_and_returns_the_same_ids(emu):
    first = seed(emu.endpoint, prefix="seedtwice", subnet_count=4)
    before = inventory(emu)
    emu.control("DELETE", "requests")
    second = seed(emu.endpoint, prefix="seedtwice", subnet_count=4)
    log = emu.requests()
    assert second == first
    assert log["writes"] == 0, f"write calls on a re-run: {writes(log)}"
    assert log["reads"] > 0
    assert inventory(emu) == before


def test_larger_subnet_count_adds_only_the_missing_subnets(emu):
    first = seed(emu.endpoint, prefix="seedgrow", subnet_count=3)
    emu.control("DELETE", "requests")
    second = seed(emu.endpoint, prefix="seedgrow", subnet_count=6)
    assert writes(emu.requests()) == {("ec2", "CreateSubnet"): 3}
    assert second["subnet_ids"][:3] == first["subnet_ids"]
    added = second["subnet_ids"][3:]
    assert len({entry["id"] for entry in second["subnet_ids"]}) == 6
    assert [entry["az"] for entry in added] == ["us-east-1d", "us-east-1a", "us-east-1b"]
    assert {key: value for key, value in second.items() if key != "subnet_ids"} == {
        key: value for key, value in first.items() if key != "subnet_ids"}


# --- the command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ["http://10.1.2.3:5000", "http://0.0.0.0:5000", "https://example.com",
                                      "http://ec2.us-east-1.amazonaws.com"])
def test_cli_refuses_a_non_loopback_endpoint(endpoint):
    result = run_cli("--endpoint", endpoint, timeout=30)
    assert result.returncode != 0
    assert "not a loopback address" in result.stderr
    assert "127.0.0.1" in result.stderr  # says what to use instead
    assert result.stdout == ""


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000",
                                      "http://127.0.0.2"])
def test_loopback_endpoints_are_accepted(endpoint):
    assert require_loopback(endpoint) == endpoint


def test_cli_prints_and_writes_the_ids_but_never_the_password(emulator, tmp_path):
    output = tmp_path / "landing-zone.json"
    result = run_cli("--endpoint", emulator.endpoint, "--prefix", "seedcli", "--subnets", "2", "--output", str(output))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert json.loads(output.read_text()) == document
    assert {"vpc_id", "subnet_ids", "security_group_id", "efa_security_group_id", "efs_id", "ami_id", "buckets", "rds",
            "claim_table", "region"} <= set(document)
    assert [set(entry) >= {"id", "az"} for entry in document["subnet_ids"]] == [True, True]
    password = json.loads(emulator.client("secretsmanager").get_secret_value(
        SecretId=document["rds"]["master_password_secret_arn"])["SecretString"])["password"]
    assert password not in result.stdout + result.stderr


# --- the real ParallelCluster validation against the seeded pieces ------------------------------

def pcluster_dryrun(config):
    """The validation messages of a successful pcluster.lib dry run; fails the test on any other outcome."""
    import pcluster.lib as pc  # pylint: disable=import-outside-toplevel  # slow import, only here
    from pcluster.api.errors import DryrunOperationException  # pylint: disable=import-outside-toplevel
    from pcluster.aws.aws_api import AWSApi  # pylint: disable=import-outside-toplevel

    AWSApi.reset()  # clients made under another environment must not be reused
    try:
        answer = pc.create_cluster(  # pylint: disable=no-member  # pcluster.lib makes its functions at import
            cluster_name="seed-dryrun", cluster_configuration=config, region="us-east-1", dryrun=True)
    except DryrunOperationException as success:  # what a dry run that would have succeeded raises
        return success.content.to_dict().get("validation_messages") or []
    except Exception as error:  # pylint: disable=broad-exception-caught  # report what pcluster said
        content = getattr(error, "content", None)
        pytest.fail(f"dryrun refused: {type(error).__name__}: {content.to_dict() if content else error}")
    return pytest.fail(f"dryrun returned instead of raising DryrunOperationException: {answer}")


def test_pcluster_dryrun_accepts_the_seeded_landing_zone(landing_zone, emulator, monkeypatch):
    """pcluster.lib create_cluster(dryrun=True) runs every validator against the seeded AMI, subnet,
    security group, EFS and bucket.

    Depends on the emulator's fills (EC2 block device mappings in RunInstances dry runs, ...); a
    failure here names the validator and its message.
    """
    for name, value in {"AWS_ENDPOINT_URL": emulator.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    subnet_id, group_id = landing_zone["subnet_ids"][0]["id"], landing_zone["security_group_id"]
    messages = pcluster_dryrun({
        "Image": {"Os": "alinux2023", "CustomAmi": landing_zone["ami_id"]},
        "HeadNode": {"InstanceType": "t3.micro", "Networking": {"SubnetId": subnet_id, "SecurityGroups": [group_id]}},
        "Scheduling": {"Scheduler": "slurm", "SlurmQueues": [{
            "Name": "debug", "Networking": {"SubnetIds": [subnet_id], "SecurityGroups": [group_id]},
            "ComputeResources": [{"Name": "t3micro", "InstanceType": "t3.micro", "MinCount": 0, "MaxCount": 8}]}]},
        "SharedStorage": [{"MountDir": "/sbo/home", "Name": "home", "StorageType": "Efs",
                           "EfsSettings": {"FileSystemId": landing_zone["efs_id"]}}],
        "CustomS3Bucket": landing_zone["buckets"]["infra_assets"],
    })
    print("pcluster dryrun validation messages:", json.dumps(messages, indent=1))
    # No key pair is given on purpose (it is per cluster, not part of the landing zone): that warning only.
    assert [(message["level"], message["type"]) for message in messages] == [("WARNING", "KeyPairValidator")], messages
