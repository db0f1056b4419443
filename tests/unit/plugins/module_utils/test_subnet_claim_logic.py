"""Unit tests of module_utils.subnet_claim's logic (no AWS: a table double, or boto3 under botocore's Stubber)."""
# pylint: disable=missing-function-docstring

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc


def subnet(subnet_id, zone="us-east-1a", available=251, cidr="10.0.0.0/24"):
    return {"SubnetId": subnet_id, "AvailabilityZone": zone, "AvailableIpAddressCount": available, "CidrBlock": cidr}


def test_is_unused():
    assert sc.is_unused(subnet("a"))
    assert not sc.is_unused(subnet("a", available=250))


def test_eligible_filters_zone_owner_and_use():
    subnets = [subnet("a"), subnet("b", zone="us-east-1b"), subnet("c", available=10), subnet("d"), subnet("e", available=3)]
    claimed = {"d": "other", "e": "mine"}
    eligible = [s["SubnetId"] for s in sc.eligible_subnets(subnets, {"us-east-1a"}, claimed, "mine")]
    assert eligible == ["a", "e"]  # b: zone; c: in use; d: another cluster's; e: in use but already mine
    assert [s["SubnetId"] for s in sc.eligible_subnets(subnets, None, claimed, "mine", require_unused=False)] == [
        "a", "b", "c", "e"]


class FakeError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeTable:
    """A DynamoDB client double with the claim table's conditional semantics."""

    def __init__(self):
        self.items = {}

    # pylint: disable-next=invalid-name,unused-argument  # boto3's parameter names
    def put_item(self, TableName, Item, ConditionExpression=None, ExpressionAttributeNames=None, ExpressionAttributeValues=None):  # noqa: N803
        key = Item["subnet_id"]["S"]
        if ConditionExpression and key in self.items and self.items[key]["cluster"] != ExpressionAttributeValues[":c"]:
            raise FakeError("ConditionalCheckFailedException")
        self.items[key] = Item

    def get_item(self, TableName, Key, ConsistentRead):  # noqa: N803 pylint: disable=invalid-name,unused-argument
        item = self.items.get(Key["subnet_id"]["S"])
        return {"Item": item} if item else {}

    # pylint: disable-next=invalid-name,unused-argument  # boto3's parameter names
    def delete_item(self, TableName, Key, ConditionExpression=None, ExpressionAttributeNames=None, ExpressionAttributeValues=None):  # noqa: N803
        key = Key["subnet_id"]["S"]
        if ConditionExpression and (key not in self.items or self.items[key]["cluster"] != ExpressionAttributeValues[":c"]):
            raise FakeError("ConditionalCheckFailedException")
        self.items.pop(key, None)

    def scan(self, TableName, ConsistentRead, **kwargs):  # noqa: N803 pylint: disable=invalid-name,unused-argument
        items = list(self.items.values())
        if "ExpressionAttributeValues" in kwargs:
            items = [i for i in items if i["cluster"] == kwargs["ExpressionAttributeValues"][":c"]]
        return {"Items": items}

    def get_paginator(self, operation):
        return FakePaginator(getattr(self, operation))


class FakePaginator:
    """boto3's paginator as aws.paginate uses it: the call's one page is the whole result."""

    def __init__(self, call):
        self.call = call
        self.page = None

    def paginate(self, **kwargs):
        self.page = self.call(**kwargs)
        return self

    def build_full_result(self):
        return self.page


def test_put_and_delete_are_conditional():
    table = FakeTable()
    assert sc.put_claim(table, "t", "one", subnet("a"))
    assert sc.put_claim(table, "t", "one", subnet("a"))  # the same cluster again
    assert not sc.put_claim(table, "t", "two", subnet("a"))
    assert not sc.delete_claim(table, "t", "two", "a")
    assert sc.delete_claim(table, "t", "one", "a")
    assert sc.release(table, "t", "one") == []


def test_duplicate_claims_of_one_cluster_converge_on_the_lowest():
    table = FakeTable()
    sc.put_claim(table, "t", "one", subnet("b"))
    sc.put_claim(table, "t", "one", subnet("a"))

    class NoEc2:
        pass

    result = sc.claim(table, NoEc2(), "t", "one")
    assert result["subnet_id"] == "a" and result["released"] == ["b"] and result["reused"]
    assert list(table.items) == ["a"]


def test_a_deletion_mark_refuses_claims_and_is_no_claim():
    table = FakeTable()
    sc.put_claim(table, "t", "one", subnet("a"))
    sc.put_marker(table, "t", "one", 600, {"vlab_id": "v"})
    assert sc.claimed_subnets(table, "t") == {"a": "one"}
    assert [c["subnet_id"] for c in sc.claims_of(table, "t", "one")] == ["a"]
    found = sc.marker(table, "t", "one")
    assert found["live"] and found["vlab_id"] == "v"
    with pytest.raises(sc.BeingDeleted, match="cluster one is being deleted"):
        sc.claim(table, None, "t", "one")
    assert sc.release(table, "t", "one") == ["a"] and sc.marker(table, "t", "one")
    sc.delete_marker(table, "t", "one")
    assert sc.marker(table, "t", "one") is None


def test_an_expired_mark_says_the_delete_was_interrupted():
    table = FakeTable()
    sc.put_marker(table, "t", "one", 1)
    table.items["deleting#one"]["expires_at"] = {"N": "1"}
    found = sc.marker(table, "t", "one")
    assert not found["live"] and "did not end (interrupted): run delete again" in sc.marker_error("one", found)


def test_a_plain_boto3_client_retries_dynamodb_throttling_and_scans_every_page(monkeypatch):
    monkeypatch.setattr(cloud.time, "sleep", lambda seconds: None)  # the retry policy's pauses
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    claim_a = {"subnet_id": {"S": "subnet-a"}, "cluster": {"S": "one"}}
    mark = {"subnet_id": {"S": "deleting#two"}, "cluster": {"S": "two"}}
    with Stubber(dynamodb) as stub:
        stub.add_client_error("put_item", "ThrottlingException")  # DynamoDB's code, not in AWSRetry's own list
        stub.add_client_error("put_item", "ProvisionedThroughputExceededException")
        stub.add_response("put_item", {})
        stub.add_response("scan", {"Items": [claim_a], "LastEvaluatedKey": {"subnet_id": {"S": "subnet-a"}}})
        stub.add_client_error("scan", "ThrottlingException")  # the scan starts again from its first page
        stub.add_response("scan", {"Items": [claim_a], "LastEvaluatedKey": {"subnet_id": {"S": "subnet-a"}}})
        stub.add_response("scan", {"Items": [{"subnet_id": {"S": "subnet-b"}, "cluster": {"S": "two"}}, mark]})
        assert sc.put_claim(dynamodb, "t", "one", subnet("subnet-a"))
        assert sc.claimed_subnets(dynamodb, "t") == {"subnet-a": "one", "subnet-b": "two"}
        stub.assert_no_pending_responses()
