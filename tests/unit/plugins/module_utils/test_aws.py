"""Unit tests of plugins/module_utils/aws.py: the retry policy, its single layer, and paginate (no AWS call)."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def failing(errors, result="done"):
    """A call that raises each of ``errors`` in turn, then returns ``result``; .calls counts the calls."""
    def call():
        call.calls += 1
        if call.calls <= len(errors):
            raise errors[call.calls - 1]
        return result
    call.calls = 0
    return call


def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


@pytest.mark.parametrize("error", [
    client_error("Throttling"), client_error("ThrottlingException"), client_error("RequestLimitExceeded"),
    client_error("ProvisionedThroughputExceededException"), client_error("SlowDown"), client_error("503"),
    client_error("ServiceUnavailable"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
])
def test_transient_errors_are_retried(error):
    call = failing([error, error])
    assert aws.RETRY(call)() == "done" and call.calls == 3


@pytest.mark.parametrize("code", ["AccessDenied", "404"])  # 404: S3's HeadObject of a missing object
def test_other_errors_are_not_retried(code):
    call = failing([client_error(code)])
    with pytest.raises(ClientError):
        aws.RETRY(call)()
    assert call.calls == 1


def test_retries_end_after_the_policy_s_attempts():
    call = failing([client_error("Throttling")] * aws.RETRY_ATTEMPTS)
    with pytest.raises(ClientError):
        aws.RETRY(call)()
    assert call.calls == aws.RETRY_ATTEMPTS


def test_pcluster_s_clients_get_the_same_attempts():
    assert aws.SDK_RETRY_ENVIRONMENT == {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": str(aws.RETRY_ATTEMPTS)}


class FakeModule:
    """Stands in for AnsibleAWSModule: its connection options, as amazon.aws's get_aws_connection_info reads them."""

    def __init__(self, **params):
        self.params = dict({"region": "us-east-1", "endpoint_url": "http://127.0.0.1:1", "access_key": "testing",
                            "secret_key": "testing"}, **params)

    def fail_json_aws(self, error, msg):
        raise AssertionError(f"{msg}: {error}")


def test_module_clients_retry_by_the_policy_only():
    made = aws.client(FakeModule(), "ec2")
    assert isinstance(made, RetryingBotoClientWrapper) and made.retry is aws.RETRY
    assert made.meta.config.retries["total_max_attempts"] == 1  # botocore's layer is off


def test_a_module_has_one_client_per_service_all_from_one_session():
    module = FakeModule(aws_config={"connect_timeout": 7, "retries": {"total_max_attempts": 5}})
    ec2, again, dynamodb = aws.client(module, "ec2"), aws.client(module, "ec2"), aws.client(module, "dynamodb")
    assert ec2 is again and dynamodb is not ec2
    assert ec2.client.meta.events is not None and len({id(vars(module)["_hpc_aws"]["session"])}) == 1
    assert dynamodb.meta.endpoint_url == "http://127.0.0.1:1" and dynamodb.meta.region_name == "us-east-1"
    # The user's aws_config is kept; the single retry layer wins over its retries.
    assert dynamodb.meta.config.connect_timeout == 7 and dynamodb.meta.config.retries["total_max_attempts"] == 1
    assert aws.client(FakeModule(), "ec2") is not ec2  # another module, its own clients


def test_paginate_merges_every_page():
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(ec2) as stub:
        stub.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-1"}], "NextToken": "t"}, {})
        stub.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-2"}]}, {"NextToken": "t"})
        found = aws.paginate(ec2, "describe_subnets")
    assert [s["SubnetId"] for s in found["Subnets"]] == ["subnet-1", "subnet-2"]


def test_module_clients_ignore_botocore_s_retry_environment(monkeypatch):
    # The playbooks (and pcluster_common.aws_environment) may export botocore's retry settings: the modules'
    # clients keep their single layer, since a client's configuration wins over the environment.
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    made = aws.client(FakeModule(), "dynamodb")
    assert made.meta.config.retries["total_max_attempts"] == 1
    assert made.meta.config.retries["mode"] == "standard"


def test_retrying_wraps_a_plain_client_once():
    module_client = aws.client(FakeModule(), "dynamodb")
    assert aws.retrying(module_client) is module_client
    plain = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    wrapped = aws.retrying(plain)
    assert wrapped.client is plain and wrapped.retry is aws.RETRY
    with Stubber(plain) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException")
        stub.add_client_error("get_item", "ThrottlingException")
        stub.add_response("get_item", {"Item": {"subnet_id": {"S": "subnet-1"}}})
        assert wrapped.get_item(TableName="t", Key={}, aws_retry=True)["Item"]["subnet_id"] == {"S": "subnet-1"}


def test_paginate_retries_the_pages_as_a_whole():
    fsx = boto3.client("fsx", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(fsx) as stub:
        stub.add_response("describe_file_systems", {"FileSystems": [{"FileSystemId": "fs-00000000000000001"}], "NextToken": "t"}, {})
        stub.add_client_error("describe_file_systems", "ThrottlingException")
        stub.add_response("describe_file_systems", {"FileSystems": [{"FileSystemId": "fs-00000000000000001"}], "NextToken": "t"}, {})
        stub.add_response("describe_file_systems", {"FileSystems": [{"FileSystemId": "fs-00000000000000002"}]}, {"NextToken": "t"})
        found = aws.paginate(aws.retrying(fsx), "describe_file_systems")
        stub.assert_no_pending_responses()
    assert [f["FileSystemId"] for f in found["FileSystems"]] == ["fs-00000000000000001", "fs-00000000000000002"]
