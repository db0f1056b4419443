"""FSx fills over HTTP: data repository associations (gap 11) and file system descriptions (gap 12).

Every test_gap11_* test calls an operation stock moto 5.2.5 does not implement (HTTP 500 there), and every
test_gap12_* test reads a field stock moto does not return or checks an answer stock moto gets wrong, so each
fails on stock moto by construction.
Each test uses its own file system: the emulator is shared by the whole session.
"""

import datetime
import re
import time

import pytest
from botocore.exceptions import ClientError

TRANSITION = 0.2  # seconds a transitional lifecycle lasts in the tests that watch one
AFTER_TRANSITION = TRANSITION + 0.1
INSTANT = {"dra_create_seconds": 0, "dra_update_seconds": 0, "dra_delete_seconds": 0}


@pytest.fixture(scope="module")
def network(emulator):
    """A VPC with a subnet and a security group: file systems are created in subnets that exist, as on AWS."""
    ec2 = emulator.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="fsx-fill-tests", Description="FSx fill tests",
                                         VpcId=vpc_id)["GroupId"]
    return {"vpc_id": vpc_id, "subnet_id": subnet_id, "group_id": group_id}


@pytest.fixture(scope="module")
def subnet_id(network):
    return network["subnet_id"]


@pytest.fixture
def fsx(emu):
    return emu.client("fsx")


@pytest.fixture
def instant(emu):
    """Associations settle at once: for tests that are not about the transitional states."""
    emu.control("POST", "settings", INSTANT)


@pytest.fixture
def transitions(emu):
    """Each transitional state lasts TRANSITION seconds."""
    emu.control("POST", "settings", {name: TRANSITION for name in INSTANT})


@pytest.fixture
def lustre(fsx, subnet_id):
    """A factory of PERSISTENT_2 Lustre file systems (the collection's kind); returns the description."""

    def create(**lustre_configuration):
        configuration = {"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250, **lustre_configuration}
        return fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                      LustreConfiguration=configuration)["FileSystem"]

    return create


@pytest.fixture
def fs_id(lustre):
    return lustre()["FileSystemId"]


def associate(fsx, fs_id, path="/project", repository="s3://project-data/vlab", **kwargs):
    return fsx.create_data_repository_association(FileSystemId=fs_id, FileSystemPath=path,
                                                  DataRepositoryPath=repository, **kwargs)["Association"]


def describe(fsx, association_id):
    return fsx.describe_data_repository_associations(AssociationIds=[association_id])["Associations"][0]


def ids_on(fsx, fs_id):
    response = fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [fs_id]}])
    return [a["AssociationId"] for a in response["Associations"]]


def error_of(call, **kwargs):
    """The Error of the ClientError that ``call(**kwargs)`` raises."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


# --- gap 11: create, lifecycle, shapes ---------------------------------------------------------------------------

def test_gap11_create_is_creating_then_available_with_the_model_shape(fsx, fs_id, transitions):
    created = associate(fsx, fs_id, BatchImportMetaDataOnCreate=True,
                        S3={"AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}})

    association_id = created["AssociationId"]
    assert re.fullmatch(r"dra-[0-9a-f]{17}", association_id)
    assert created["ResourceARN"] == f"arn:aws:fsx:us-east-1:123456789012:association/{fs_id}/{association_id}"
    assert created["FileSystemId"] == fs_id
    assert created["Lifecycle"] == "CREATING"
    assert created["FileSystemPath"] == "/project"
    assert created["DataRepositoryPath"] == "s3://project-data/vlab"
    assert created["BatchImportMetaDataOnCreate"] is True
    assert created["ImportedFileChunkSize"] == 1024
    assert created["S3"] == {"AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}}
    assert isinstance(created["CreationTime"], datetime.datetime)
    assert "FileCacheId" not in created and "FailureDetails" not in created
    assert describe(fsx, association_id)["Lifecycle"] == "CREATING"
    time.sleep(AFTER_TRANSITION)
    described = describe(fsx, association_id)
    assert described["Lifecycle"] == "AVAILABLE"
    assert {k: v for k, v in described.items() if k != "Lifecycle"} == {k: v for k, v in created.items() if k != "Lifecycle"}


def test_gap11_unknown_file_system_is_refused(fsx, instant):
    error = error_of(fsx.create_data_repository_association, FileSystemId="fs-0123456789abcdef0",
                     FileSystemPath="/project", DataRepositoryPath="s3://project-data")
    assert error == {"Code": "FileSystemNotFound", "Message": "File system 'fs-0123456789abcdef0' does not exist."}


@pytest.mark.parametrize("file_system_type", ["OPENZFS", "SCRATCH_1"])
def test_gap11_file_systems_without_association_support_are_refused(fsx, subnet_id, instant, file_system_type):
    if file_system_type == "SCRATCH_1":
        created = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                         LustreConfiguration={"DeploymentType": "SCRATCH_1"})
    else:
        created = fsx.create_file_system(FileSystemType="OPENZFS", StorageCapacity=64, SubnetIds=[subnet_id])
    fs_id = created["FileSystem"]["FileSystemId"]
    error = error_of(fsx.create_data_repository_association, FileSystemId=fs_id, FileSystemPath="/project",
                     DataRepositoryPath="s3://project-data")
    assert error["Code"] == "BadRequest"
    assert error["Message"] == (f"File system {fs_id} does not support data repository associations. They are supported "
                                "on FSx for Lustre 2.12 and 2.15 file systems, excluding the SCRATCH_1 deployment type.")


# --- gap 11: describe ---------------------------------------------------------------------------------------------

def test_gap11_describe_by_ids_and_by_each_filter(fsx, lustre, instant):
    fs_a, fs_b = lustre()["FileSystemId"], lustre()["FileSystemId"]
    first = associate(fsx, fs_a, "/project", "s3://project-data")["AssociationId"]
    second = associate(fsx, fs_a, "/scratch", "s3://scratch-data/vlab/project")["AssociationId"]
    other = associate(fsx, fs_b, "/project", "s3://project-data")["AssociationId"]

    by_ids = fsx.describe_data_repository_associations(AssociationIds=[second, other])["Associations"]
    assert [a["AssociationId"] for a in by_ids] == [second, other]
    assert ids_on(fsx, fs_a) == [first, second]
    assert ids_on(fsx, fs_b) == [other]

    def filtered(*filters):
        response = fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [fs_a]},
                                                                      *filters])
        return [a["AssociationId"] for a in response["Associations"]]

    assert filtered({"Name": "data-repository-type", "Values": ["S3"]}) == [first, second]
    assert not filtered({"Name": "data-repository-type", "Values": ["NFS"]})
    assert not filtered({"Name": "file-cache-id", "Values": ["fc-0123456789abcdef0"]})


def test_gap11_describe_refuses_unknown_filters_and_repository_types(fsx, instant):
    error = error_of(fsx.describe_data_repository_associations, Filters=[{"Name": "data-repository-type", "Values": ["FTP"]}])
    assert error == {"Code": "InvalidDataRepositoryType",
                     "Message": "The data repository type 'FTP' is not supported. Supported types: S3, NFS."}
    error = error_of(fsx.describe_data_repository_associations, Filters=[{"Name": "backup-type", "Values": ["USER_INITIATED"]}])
    assert error["Code"] == "BadRequest"
    assert error["Message"] == ("The filter name 'backup-type' is not supported. Supported filter names: "
                                "file-system-id, data-repository-type, file-cache-id.")


def test_gap11_describe_paginates_in_creation_order(fsx, fs_id, instant):
    created = [associate(fsx, fs_id, f"/dir{n}", f"s3://bucket-{n}")["AssociationId"] for n in range(5)]
    only_this_fs = [{"Name": "file-system-id", "Values": [fs_id]}]

    pages, token = [], None
    while True:
        response = fsx.describe_data_repository_associations(Filters=only_this_fs, MaxResults=2,
                                                             **({"NextToken": token} if token else {}))
        pages.append([a["AssociationId"] for a in response["Associations"]])
        token = response.get("NextToken")
        if not token:
            break
    assert pages == [created[0:2], created[2:4], created[4:5]]

    error = error_of(fsx.describe_data_repository_associations, Filters=only_this_fs, NextToken="bm90LWEtdG9rZW4=")
    assert error == {"Code": "BadRequest", "Message": "The NextToken 'bm90LWEtdG9rZW4=' is not valid."}


@pytest.mark.parametrize("operation", ["describe", "update", "delete"])
def test_gap11_unknown_association_is_not_found(fsx, instant, operation):
    unknown = "dra-0123456789abcdef0"
    calls = {
        "describe": lambda: fsx.describe_data_repository_associations(AssociationIds=[unknown]),
        "update": lambda: fsx.update_data_repository_association(AssociationId=unknown, ImportedFileChunkSize=2048),
        "delete": lambda: fsx.delete_data_repository_association(AssociationId=unknown),
    }
    error = error_of(calls[operation])
    assert error == {"Code": "DataRepositoryAssociationNotFound",
                     "Message": f"Data repository association '{unknown}' does not exist."}


# --- gap 11: update and delete ------------------------------------------------------------------------------------

def test_gap11_update_changes_chunk_size_and_policies_through_updating(fsx, fs_id, emu):
    emu.control("POST", "settings", {"dra_create_seconds": 0, "dra_update_seconds": TRANSITION})
    association_id = associate(fsx, fs_id, S3={"AutoImportPolicy": {"Events": ["NEW"]}})["AssociationId"]

    updated = fsx.update_data_repository_association(
        AssociationId=association_id, ImportedFileChunkSize=2048,
        S3={"AutoExportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}})["Association"]

    assert updated["Lifecycle"] == "UPDATING"
    assert updated["ImportedFileChunkSize"] == 2048
    assert updated["S3"] == {"AutoImportPolicy": {"Events": ["NEW"]},  # a policy the update does not name is kept
                             "AutoExportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}}
    error = error_of(fsx.update_data_repository_association, AssociationId=association_id, ImportedFileChunkSize=4096)
    assert error == {"Code": "BadRequest", "Message": f"Data repository association {association_id} cannot be "
                                                      "updated while its lifecycle is UPDATING."}
    time.sleep(AFTER_TRANSITION)
    described = describe(fsx, association_id)
    assert described["Lifecycle"] == "AVAILABLE"
    assert described["ImportedFileChunkSize"] == 2048


def test_gap11_delete_is_deleting_then_gone(fsx, fs_id, emu):
    emu.control("POST", "settings", {"dra_create_seconds": 0, "dra_delete_seconds": TRANSITION})
    association_id = associate(fsx, fs_id)["AssociationId"]

    deleted = fsx.delete_data_repository_association(AssociationId=association_id, DeleteDataInFileSystem=True)

    assert {k: v for k, v in deleted.items() if k != "ResponseMetadata"} == {
        "AssociationId": association_id, "Lifecycle": "DELETING", "DeleteDataInFileSystem": True}
    assert describe(fsx, association_id)["Lifecycle"] == "DELETING"
    retried = fsx.delete_data_repository_association(AssociationId=association_id, DeleteDataInFileSystem=True)
    assert retried["Lifecycle"] == "DELETING"
    time.sleep(AFTER_TRANSITION)
    assert error_of(describe, fsx=fsx, association_id=association_id)["Code"] == "DataRepositoryAssociationNotFound"
    assert not ids_on(fsx, fs_id)


def test_gap11_deleting_the_file_system_removes_its_associations(fsx, fs_id, instant):
    association_id = associate(fsx, fs_id)["AssociationId"]
    fsx.delete_file_system(FileSystemId=fs_id)
    assert error_of(describe, fsx=fsx, association_id=association_id)["Code"] == "DataRepositoryAssociationNotFound"


# --- gap 11: idempotency, limit, paths ----------------------------------------------------------------------------

def test_gap11_same_token_and_parameters_return_the_existing_association(fsx, fs_id, instant):
    first = associate(fsx, fs_id, ClientRequestToken="retry-1")
    again = associate(fsx, fs_id, ClientRequestToken="retry-1")
    assert again["AssociationId"] == first["AssociationId"]
    assert ids_on(fsx, fs_id) == [first["AssociationId"]]


def test_gap11_same_token_with_other_parameters_is_refused(fsx, fs_id, instant):
    first = associate(fsx, fs_id, ClientRequestToken="retry-2")
    with pytest.raises(ClientError) as caught:
        associate(fsx, fs_id, path="/other", repository="s3://other-data", ClientRequestToken="retry-2")
    response = caught.value.response
    assert response["Error"] == {"Code": "IncompatibleParameterError", "Message": (
        f"The client request token 'retry-2' was already used to create data repository association "
        f"{first['AssociationId']} with different parameters. Use a new token for a different request.")}
    assert response["Parameter"] == "ClientRequestToken"
    assert ids_on(fsx, fs_id) == [first["AssociationId"]]


def test_gap11_a_ninth_association_exceeds_the_limit_of_eight(fsx, fs_id, instant):
    for n in range(8):
        associate(fsx, fs_id, f"/dir{n}", f"s3://bucket-{n}")
    error = error_of(associate, fsx=fsx, fs_id=fs_id, path="/dir8", repository="s3://bucket-8")
    assert error == {"Code": "ServiceLimitExceeded", "Message": (
        f"File system {fs_id} already has the maximum of 8 data repository associations. "
        "Delete an association before you create another.")}
    assert len(ids_on(fsx, fs_id)) == 8


@pytest.mark.parametrize("path", ["/data/project", "/data/project/", "/data/project/sub", "/data", "/"],
                         ids=["equal", "equal-trailing-slash", "nested", "containing", "root"])
def test_gap11_overlapping_file_system_paths_are_refused(fsx, fs_id, instant, path):
    existing = associate(fsx, fs_id, "/data/project", "s3://project-data")["AssociationId"]
    error = error_of(associate, fsx=fsx, fs_id=fs_id, path=path, repository="s3://other-data")
    assert error == {"Code": "BadRequest", "Message": (
        f"The file system path '{path}' overlaps with the file system path '/data/project' of data repository "
        f"association {existing}. Two data repository associations cannot have overlapping file system paths.")}


def test_gap11_sibling_directories_sharing_a_name_prefix_do_not_overlap(fsx, fs_id, instant):
    associate(fsx, fs_id, "/data/project", "s3://project-data")
    assert associate(fsx, fs_id, "/data/projects", "s3://projects-data")["Lifecycle"] == "AVAILABLE"


def test_gap11_a_data_repository_path_linked_twice_is_refused(fsx, fs_id, instant):
    existing = associate(fsx, fs_id, "/project", "s3://project-data/vlab/")["AssociationId"]
    error = error_of(associate, fsx=fsx, fs_id=fs_id, path="/scratch", repository="s3://project-data/vlab")
    assert error == {"Code": "BadRequest", "Message": (
        f"The data repository path 's3://project-data/vlab' is already linked to the file system path '/project' by "
        f"data repository association {existing}. Each data repository association must have a unique data "
        "repository path.")}


@pytest.mark.parametrize("repository", ["https://project-data/vlab", "project-data/vlab", "s3://", "s3://Project_Data"])
def test_gap11_a_data_repository_path_that_is_not_s3_is_refused(fsx, fs_id, instant, repository):
    error = error_of(associate, fsx=fsx, fs_id=fs_id, repository=repository)
    assert error == {"Code": "BadRequest", "Message": (
        f"The data repository path '{repository}' is not valid. Specify an Amazon S3 bucket or prefix in the format "
        "s3://bucket-name/prefix/.")}


def test_gap11_a_relative_file_system_path_is_refused(fsx, fs_id, instant):
    error = error_of(associate, fsx=fsx, fs_id=fs_id, path="project")
    assert error == {"Code": "BadRequest", "Message": (
        "The file system path 'project' is not valid. Specify an absolute path that begins with a forward slash (/), "
        "such as /ns1/.")}


# --- gap 11: faults and tags --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lifecycle", ["FAILED", "MISCONFIGURED"])
def test_gap11_fault_switch_settles_in_failure_with_details(fsx, fs_id, emu, lifecycle):
    emu.control("POST", "settings", {"dra_create_seconds": TRANSITION, "dra_update_seconds": 0})
    emu.control("POST", "faults/dra_failed", {"lifecycle": lifecycle, "message": "Access Denied on s3://project-data"})
    association_id = associate(fsx, fs_id)["AssociationId"]

    assert "FailureDetails" not in describe(fsx, association_id)  # still CREATING
    time.sleep(AFTER_TRANSITION)
    described = describe(fsx, association_id)
    assert described["Lifecycle"] == lifecycle
    assert described["FailureDetails"] == {"Message": "Access Denied on s3://project-data"}
    assert not emu.control("GET", "faults")["pending"]  # one-shot: the next association is not affected


def test_gap11_fault_without_message_gets_a_default_and_an_update_fixes_misconfiguration(fsx, fs_id, emu, instant):
    emu.control("POST", "faults/dra_failed", {"lifecycle": "MISCONFIGURED"})
    association_id = associate(fsx, fs_id, repository="s3://project-data/vlab")["AssociationId"]

    described = describe(fsx, association_id)
    assert described["Lifecycle"] == "MISCONFIGURED"
    assert described["FailureDetails"] == {"Message": (
        "Amazon FSx cannot automatically import updates from or export updates to s3://project-data/vlab until the "
        "data repository association configuration is corrected.")}
    fsx.update_data_repository_association(AssociationId=association_id, S3={"AutoImportPolicy": {"Events": ["NEW"]}})
    assert "FailureDetails" not in describe(fsx, association_id)
    assert describe(fsx, association_id)["Lifecycle"] == "AVAILABLE"


def test_gap11_association_tags_work_with_the_tagging_operations(fsx, fs_id, instant):
    association = associate(fsx, fs_id, Tags=[{"Key": "obp:costcenter:vlabid", "Value": "vlab1"}])
    arn = association["ResourceARN"]
    assert association["Tags"] == [{"Key": "obp:costcenter:vlabid", "Value": "vlab1"}]

    fsx.tag_resource(ResourceARN=arn, Tags=[{"Key": "SBO_Billing", "Value": "hpc:parallelcluster"}])
    fsx.untag_resource(ResourceARN=arn, TagKeys=["obp:costcenter:vlabid"])

    assert fsx.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "SBO_Billing", "Value": "hpc:parallelcluster"}]
    assert describe(fsx, association["AssociationId"])["Tags"] == [{"Key": "SBO_Billing", "Value": "hpc:parallelcluster"}]
    fsx.delete_data_repository_association(AssociationId=association["AssociationId"])
    ids_on(fsx, fs_id)  # any read drops the finished delete
    assert not fsx.list_tags_for_resource(ResourceARN=arn)["Tags"]


# --- gap 12: file system descriptions -----------------------------------------------------------------------------

def test_gap12_lustre_file_system_reports_lifecycle_mount_name_and_version(fsx, lustre):
    created = lustre()
    described = fsx.describe_file_systems(FileSystemIds=[created["FileSystemId"]])["FileSystems"][0]

    assert described["Lifecycle"] == "AVAILABLE"
    assert described["FileSystemTypeVersion"] == "2.15"
    assert re.fullmatch(r"[a-z0-9]{8}", described["LustreConfiguration"]["MountName"])
    assert described["LustreConfiguration"]["MountName"] == created["LustreConfiguration"]["MountName"]
    assert described["LustreConfiguration"]["DeploymentType"] == "PERSISTENT_2"
    assert described["LustreConfiguration"]["PerUnitStorageThroughput"] == 250
    assert described["DNSName"] == f"{created['FileSystemId']}.fsx.us-east-1.amazonaws.com"
    assert described["StorageCapacity"] == 1200


def test_gap12_given_version_is_kept_and_scratch_1_mounts_as_fsx(fsx, subnet_id):
    given = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                   FileSystemTypeVersion="2.12",
                                   LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125})
    scratch = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id])
    described = {fs["FileSystemId"]: fs for fs in fsx.describe_file_systems()["FileSystems"]}

    assert described[given["FileSystem"]["FileSystemId"]]["FileSystemTypeVersion"] == "2.12"
    scratch_description = described[scratch["FileSystem"]["FileSystemId"]]
    assert scratch_description["LustreConfiguration"] == {"DeploymentType": "SCRATCH_1", "MountName": "fsx"}


def test_gap12_file_system_has_an_aws_length_id_with_matching_arn_dns_name_and_tags(fsx, subnet_id):
    created = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                     LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125},
                                     Tags=[{"Key": "Name", "Value": "fill-ids"}])["FileSystem"]
    fs_id = created["FileSystemId"]

    assert re.fullmatch(r"fs-[0-9a-f]{17}", fs_id)  # pcluster's schema: ^fs-[0-9a-z]{17}$ for an existing Lustre
    assert created["ResourceARN"] == f"arn:aws:fsx:us-east-1:123456789012:file-system/{fs_id}"
    assert created["DNSName"] == f"{fs_id}.fsx.us-east-1.amazonaws.com"
    assert fsx.list_tags_for_resource(ResourceARN=created["ResourceARN"])["Tags"] == [{"Key": "Name", "Value": "fill-ids"}]
    described = fsx.describe_file_systems(FileSystemIds=[fs_id])["FileSystems"][0]
    assert described["Tags"] == [{"Key": "Name", "Value": "fill-ids"}]


def test_gap12_file_system_reports_vpc_network_interfaces_owner_and_creation_time(fsx, emu, network):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    created = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[network["subnet_id"]],
                                     SecurityGroupIds=[network["group_id"]],
                                     LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125})
    described = fsx.describe_file_systems(FileSystemIds=[created["FileSystem"]["FileSystemId"]])["FileSystems"][0]

    assert described["VpcId"] == network["vpc_id"]
    assert described["OwnerId"] == "123456789012"
    assert before <= described["CreationTime"] <= datetime.datetime.now(datetime.timezone.utc)
    # pcluster describes the interfaces and checks their VPC and groups against its nodes' security groups.
    interfaces = emu.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=described["NetworkInterfaceIds"])["NetworkInterfaces"]
    assert len(interfaces) == 1
    assert interfaces[0]["VpcId"] == network["vpc_id"]
    assert interfaces[0]["SubnetId"] == network["subnet_id"]
    assert [group["GroupId"] for group in interfaces[0]["Groups"]] == [network["group_id"]]


def test_gap12_deleting_a_file_system_releases_its_network_interfaces(fsx, emu, lustre, subnet_id):
    """Their addresses too (ec2_addresses): the subnet's AvailableIpAddressCount is back to what it was."""
    ec2 = emu.client("ec2")

    def available():
        return ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["AvailableIpAddressCount"]

    before = available()
    created = lustre()
    interface_ids = created["NetworkInterfaceIds"]
    (interface,) = ec2.describe_network_interfaces(NetworkInterfaceIds=interface_ids)["NetworkInterfaces"]
    assert interface["PrivateIpAddress"].startswith("10.77.1.") and available() == before - 1
    fsx.delete_file_system(FileSystemId=created["FileSystemId"])
    remaining = ec2.describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": interface_ids}])["NetworkInterfaces"]
    assert not remaining
    assert available() == before


@pytest.mark.parametrize("operation", ["describe", "delete"])
def test_gap12_unknown_file_system_id_is_not_found(fsx, operation):
    unknown = "fs-0123456789abcdef0"
    calls = {"describe": lambda: fsx.describe_file_systems(FileSystemIds=[unknown]),
             "delete": lambda: fsx.delete_file_system(FileSystemId=unknown)}
    assert error_of(calls[operation]) == {"Code": "FileSystemNotFound",
                                          "Message": f"File system '{unknown}' does not exist."}


@pytest.mark.parametrize("member", ["InvalidSubnetId", "InvalidSecurityGroupId"])
def test_gap12_file_system_in_a_subnet_or_group_that_does_not_exist_is_refused(fsx, network, member):
    subnet_id, group_id = network["subnet_id"], network["group_id"]
    if member == "InvalidSubnetId":
        subnet_id, missing, kind = "subnet-0123456789abcdef0", "subnet-0123456789abcdef0", "subnet"
    else:
        group_id, missing, kind = "sg-0123456789abcdef0", "sg-0123456789abcdef0", "security group"
    with pytest.raises(ClientError) as caught:
        fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                               SecurityGroupIds=[group_id])
    response = caught.value.response
    assert response["Error"] == {"Code": "InvalidNetworkSettings", "Message": f"The {kind} ID '{missing}' does not exist"}
    assert response[member] == missing
