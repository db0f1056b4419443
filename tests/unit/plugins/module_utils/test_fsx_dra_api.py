"""Unit tests of module_utils/fsx_api.py: a real boto3 FSx client under botocore's Stubber, wrapped in amazon.aws's
retrying client with the collection's policy as aws.client does: pagination, not-found answers, throttling retries,
error naming."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures


import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_api
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_dra import DraError

FS = "fs-0123456789abcdef0"


def association(number, path="/p"):
    return {"AssociationId": f"dra-{number:017x}", "FileSystemId": FS, "FileSystemPath": path,
            "DataRepositoryPath": f"s3://bucket/{number}/", "Lifecycle": "AVAILABLE"}


def lustre(file_system_id, name, lifecycle="AVAILABLE", file_system_type="LUSTRE"):
    return {"FileSystemId": file_system_id, "FileSystemType": file_system_type, "Lifecycle": lifecycle,
            "Tags": [{"Key": "Name", "Value": name}]}


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(cloud.time, "sleep", lambda seconds: None)  # AWSRetry's pauses
    client = boto3.client("fsx", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield stubber, fsx_api.FsxApi(RetryingBotoClientWrapper(client, aws.RETRY))
        stubber.assert_no_pending_responses()


def test_associations_follow_every_page(stubbed):
    stubber, api = stubbed
    only_fs = [{"Name": "file-system-id", "Values": [FS]}]
    stubber.add_response("describe_data_repository_associations",
                         {"Associations": [association(1)], "NextToken": "t1"},
                         {"Filters": only_fs, "MaxResults": 25})
    stubber.add_response("describe_data_repository_associations", {"Associations": [association(2)]},
                         {"Filters": only_fs, "MaxResults": 25, "NextToken": "t1"})
    assert [a["AssociationId"] for a in api.associations(FS)] == [association(1)["AssociationId"],
                                                                  association(2)["AssociationId"]]


def test_throttling_is_retried(stubbed):
    stubber, api = stubbed
    stubber.add_client_error("describe_data_repository_associations", "ThrottlingException", "Rate exceeded")
    stubber.add_client_error("describe_data_repository_associations", "ThrottlingException", "Rate exceeded")
    stubber.add_response("describe_data_repository_associations", {"Associations": [association(3)]})
    assert api.association(association(3)["AssociationId"]) == association(3)


def test_a_missing_association_is_none_and_its_delete_is_no_error(stubbed):
    stubber, api = stubbed
    stubber.add_client_error("describe_data_repository_associations", "DataRepositoryAssociationNotFound", "gone")
    stubber.add_client_error("delete_data_repository_association", "DataRepositoryAssociationNotFound", "gone")
    assert api.association("dra-00000000000000001") is None
    api.delete("dra-00000000000000001", False)


def test_associations_by_id_leave_out_those_that_do_not_exist(stubbed):
    stubber, api = stubbed
    stubber.add_response("describe_data_repository_associations", {"Associations": [association(1)]})
    stubber.add_client_error("describe_data_repository_associations", "DataRepositoryAssociationNotFound", "gone")
    assert api.associations_by_id(["dra-00000000000000001", "dra-00000000000000002"]) == [association(1)]


def test_a_missing_file_system_is_none(stubbed):
    stubber, api = stubbed
    stubber.add_client_error("describe_file_systems", "FileSystemNotFound", "no such file system")
    stubber.add_response("describe_file_systems", {"FileSystems": []})  # what stock moto answers
    assert api.find_file_system(FS) is None
    assert api.file_system(FS) is None


def test_file_systems_are_found_by_name_tag_and_an_ambiguous_name_fails(stubbed):
    stubber, api = stubbed
    listing = {"FileSystems": [lustre("fs-00000000000000001", "lab"), lustre("fs-00000000000000002", "other"),
                               lustre("fs-00000000000000003", "lab", lifecycle="DELETING"),
                               lustre("fs-00000000000000004", "lab", file_system_type="OPENZFS")]}
    stubber.add_response("describe_file_systems", listing)
    assert api.find_file_system(name="lab")["FileSystemId"] == "fs-00000000000000001"
    stubber.add_response("describe_file_systems", {"FileSystems": [lustre("fs-00000000000000005", "twin")],
                                                   "NextToken": "n"})
    stubber.add_response("describe_file_systems", {"FileSystems": [lustre("fs-00000000000000006", "twin")]},
                         {"NextToken": "n"})
    with pytest.raises(DraError) as caught:
        api.find_file_system(name="twin")
    assert caught.value.message.startswith("file_system_name: 2 Lustre file systems are tagged Name=twin "
                                           "(fs-00000000000000005, fs-00000000000000006)")


def test_an_error_names_the_operation_and_its_subject(stubbed):
    stubber, api = stubbed
    stubber.add_client_error("create_data_repository_association", "BadRequest", "paths overlap")
    with pytest.raises(fsx_api.FsxAWSError) as caught:
        api.create({"FileSystemId": FS, "FileSystemPath": "/p", "DataRepositoryPath": "s3://bucket/p/"})
    # amazon.aws's AWSErrorHandler words it "Failed to <description>"; the operation is named by the boto3 error.
    assert caught.value.message == f"Failed to create the data repository association {FS}:/p"
    assert "CreateDataRepositoryAssociation operation" in str(caught.value)
    assert caught.value.exception.response["Error"]["Code"] == "BadRequest"


def test_retag_removes_then_sets(stubbed):
    stubber, api = stubbed
    arn = f"arn:aws:fsx:us-east-1:123456789012:association/{FS}/dra-00000000000000001"
    stubber.add_response("untag_resource", {}, {"ResourceARN": arn, "TagKeys": ["old"]})
    stubber.add_response("tag_resource", {}, {"ResourceARN": arn, "Tags": [{"Key": "new", "Value": "2"}]})
    api.retag(arn, {"new": "2"}, ["old"])
    api.retag(arn, {}, [])  # nothing to do: no call
