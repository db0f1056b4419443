"""Unit tests of module_utils.subnet_claim's pure logic (no AWS)."""
# pylint: disable=missing-function-docstring

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

    def put_item(self, TableName, Item, ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues):  # noqa: N803 pylint: disable=invalid-name,unused-argument
        key = Item["subnet_id"]["S"]
        if key in self.items and self.items[key]["cluster"] != ExpressionAttributeValues[":c"]:
            raise FakeError("ConditionalCheckFailedException")
        self.items[key] = Item

    def delete_item(self, TableName, Key, ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues):  # noqa: N803 pylint: disable=invalid-name,unused-argument
        key = Key["subnet_id"]["S"]
        if key not in self.items or self.items[key]["cluster"] != ExpressionAttributeValues[":c"]:
            raise FakeError("ConditionalCheckFailedException")
        del self.items[key]

    def scan(self, TableName, ConsistentRead, **kwargs):  # noqa: N803 pylint: disable=invalid-name,unused-argument
        items = list(self.items.values())
        if "ExpressionAttributeValues" in kwargs:
            items = [i for i in items if i["cluster"] == kwargs["ExpressionAttributeValues"][":c"]]
        return {"Items": items}


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
