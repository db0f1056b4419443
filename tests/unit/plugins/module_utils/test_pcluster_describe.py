"""Unit tests of plugins/module_utils/pcluster_describe.py: pcluster's views of a stack, built without pcluster."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import datetime

import pytest
from botocore.stub import Stubber
from pcluster.api.converters import cloud_formation_status_to_cluster_status
from pcluster.api.models import CloudFormationStackStatus
from pcluster.aws.aws_resources import StackInfo

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_describe as describe

CREATED = datetime.datetime(2025, 11, 21, 5, 43, 49, 516000, tzinfo=datetime.timezone.utc)
STACK = {
    "StackName": "pcluster-v1-p1", "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/pcluster-v1-p1/e4b9",
    "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": CREATED,
    "Parameters": [{"ParameterKey": "Scheduler", "ParameterValue": "slurm "}],
    "Tags": [{"Key": "parallelcluster:version", "Value": "3.16.1"}, {"Key": "obp:costcenter:vlabid", "Value": "v1"}],
}
ALL_STACK_STATUSES = [value for name, value in vars(CloudFormationStackStatus).items() if name.isupper()]


@pytest.mark.parametrize("status", ALL_STACK_STATUSES)
def test_cluster_status_is_pclusters(status):
    assert describe.cluster_status(status) == cloud_formation_status_to_cluster_status(status)


@pytest.mark.parametrize("status", ALL_STACK_STATUSES)
def test_fleet_status_is_read_when_pcluster_reads_it(status):
    # pcluster's Cluster.compute_fleet_status_with_last_updated_time: a working stack, or one being updated.
    readable = StackInfo({"StackStatus": status}).is_working_status or status == "UPDATE_IN_PROGRESS"
    assert (status in describe.FLEET_READABLE_STACK_STATUSES) is readable


def test_times_are_pclusters_format():
    assert describe.iso_time(CREATED) == "2025-11-21T05:43:49.516Z"
    assert describe.iso_time(datetime.datetime(2025, 1, 2, 3, 4, 5)) == "2025-01-02T03:04:05.000Z"  # naive: UTC
    assert describe.iso_time(None) is None


def test_stack_summary():
    assert describe.stack_summary(STACK, "us-east-1") == {
        "cluster_name": "pcluster-v1-p1", "cluster_status": "CREATE_FAILED", "cloudformation_stack_status": "ROLLBACK_COMPLETE",
        "cloudformation_stack_arn": STACK["StackId"], "region": "us-east-1", "version": "3.16.1",
        "scheduler": {"type": "slurm"}, "tags": {"parallelcluster:version": "3.16.1", "obp:costcenter:vlabid": "v1"},
        "creation_time": "2025-11-21T05:43:49.516Z", "last_updated_time": "2025-11-21T05:43:49.516Z",
    }


@pytest.mark.parametrize("changes, is_cluster", [
    ({}, True),
    ({"ParentId": "arn:parent"}, False),  # a nested stack of a cluster
    ({"Tags": []}, False),  # not made by pcluster
    ({"Tags": STACK["Tags"] + [{"Key": "parallelcluster:image_id", "Value": "img"}]}, False),  # an image build
])
def test_cluster_stacks_as_pcluster_lists_them(changes, is_cluster):
    assert bool(describe.is_cluster_stack(dict(STACK, **changes))) is is_cluster


@pytest.mark.parametrize("statuses, tags, matches", [
    (None, {}, True),
    (["CREATE_FAILED"], {}, True),
    (["CREATE_COMPLETE", "UPDATE_COMPLETE"], {}, False),
    (None, {"obp:costcenter:vlabid": "v1", "obp:costcenter:project": None}, True),
    (None, {"obp:costcenter:vlabid": "v2"}, False),
    (["CREATE_FAILED"], {"obp:costcenter:project": "p1"}, False),
])
def test_summary_filters(statuses, tags, matches):
    assert describe.summary_matches(describe.stack_summary(STACK, "us-east-1"), statuses, tags) is matches


def test_head_node_fields():
    instance = {"InstanceId": "i-1", "InstanceType": "t3.medium", "LaunchTime": CREATED, "PrivateIpAddress": "10.0.0.5",
                "State": {"Name": "running"}}
    assert describe.head_node_of([{"Instances": [instance]}]) == {
        "instance_id": "i-1", "instance_type": "t3.medium", "launch_time": "2025-11-21T05:43:49.516Z",
        "private_ip_address": "10.0.0.5", "public_ip_address": None, "state": "running"}
    assert describe.head_node_of([]) is None


def test_failed_events_newest_first_and_limited():
    def event(index, status):
        return {"Timestamp": CREATED, "LogicalResourceId": f"R{index}", "ResourceType": "AWS::EC2::Instance",
                "ResourceStatus": status, "ResourceStatusReason": f"reason {index}"}

    events = [event(i, "CREATE_FAILED" if i % 2 else "CREATE_COMPLETE") for i in range(30)]
    failed = describe.failed_events_of(events, limit=3)
    assert [e["logical_resource_id"] for e in failed] == ["R1", "R3", "R5"]
    assert failed[0] == {"timestamp": "2025-11-21T05:43:49.516Z", "logical_resource_id": "R1",
                         "resource_type": "AWS::EC2::Instance", "resource_status": "CREATE_FAILED",
                         "resource_status_reason": "reason 1"}


class StubbedModule:
    """AnsibleAWSModule's stand-in: its connection options; .cloudformation is the boto3 client inside the retrying
    client that aws.client made for it (to stub)."""

    def __init__(self):
        self.params = {"region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
        self.cloudformation = aws.client(self, "cloudformation").client

    def fail_json_aws(self, error, msg):
        raise AssertionError(f"{msg}: {error}")


def test_reader_lists_every_page_and_retries_throttling(monkeypatch):
    monkeypatch.setattr(cloud.time, "sleep", lambda seconds: None)  # the retry policy's pauses
    module = StubbedModule()
    other = dict(STACK, StackName="pcluster-v1-p2", StackStatus="CREATE_COMPLETE")
    with Stubber(module.cloudformation) as stub:
        stub.add_response("describe_stacks", {"Stacks": [STACK], "NextToken": "n"}, {})
        stub.add_client_error("describe_stacks", "Throttling")
        stub.add_response("describe_stacks", {"Stacks": [STACK], "NextToken": "n"}, {})
        stub.add_response("describe_stacks", {"Stacks": [other, dict(STACK, StackName="x", Tags=[])]}, {"NextToken": "n"})
        listed = describe.ClusterReader(module, "us-east-1").list_clusters(["CREATE_COMPLETE"], {"obp:costcenter:vlabid": "v1"})
        stub.assert_no_pending_responses()
    assert [c["cluster_name"] for c in listed] == ["pcluster-v1-p2"]


def test_reader_reads_at_most_the_newest_events():
    module = StubbedModule()

    def page(number):
        return [{"StackId": "s", "EventId": f"{number}.{i}", "StackName": "c", "Timestamp": CREATED,
                 "ResourceStatus": "CREATE_FAILED", "LogicalResourceId": f"R{number}.{i}"} for i in range(100)]

    with Stubber(module.cloudformation) as stub:
        for number in range(describe.EVENT_READ_LIMIT // 100):
            stub.add_response("describe_stack_events", {"StackEvents": page(number), "NextToken": f"page{number + 1}"})
        # no sixth call: the reader stops after 500 events, CloudFormation's first 5 pages
        failed = describe.ClusterReader(module, "us-east-1").failed_events("c")
        stub.assert_no_pending_responses()
    assert len(failed) == describe.FAILED_EVENT_LIMIT and failed[0]["logical_resource_id"] == "R0.0"
