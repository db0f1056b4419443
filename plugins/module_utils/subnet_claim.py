# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Atomic compute-subnet claims in a DynamoDB table (hash key ``subnet_id``, attribute ``cluster``).

A claim is a conditional PutItem: it succeeds only when the subnet has no claim or is already this cluster's,
so two concurrent runs can never hold one subnet. Two concurrent runs for the same cluster may each win a
different subnet; both then keep the lowest subnet id of the cluster's claims and conditionally delete the
others, so they converge on one claim. Nothing here reads then writes unconditionally.

A delete marks its cluster in the same table first (item ``subnet_id = "deleting#<cluster>"``), and removes the mark
when it ends. A create racing that delete sees the mark (its claim is refused, or its check after the cluster step
finds the mark or its claim gone): it waits for the delete to end and removes what it made, so that the two leave a
whole cluster or nothing. Marks are not claims: the claim functions here skip them.

The functions take the modules' clients (``aws.client``) or plain boto3 clients, so that tests can call them from
threads; either way every call retries by the collection's one policy (``aws.retrying``, ``aws.paginate``).
"""

import datetime
import ipaddress

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws

DEFAULT_SUBNET_FILTERS = {"tag:HPC_Goal": "compute_cluster"}
AWS_RESERVED_ADDRESSES = 5  # AWS keeps the first four and the last address of every subnet


MARKER_PREFIX = "deleting#"


class ClaimError(Exception):
    """A claim that cannot be made, with a message for people."""


class BeingDeleted(ClaimError):
    """A delete of the cluster runs (or was cut short): no claim until it has ended."""

    def __init__(self, message, found):
        super().__init__(message)
        self.marker = found


# The options every module of the claim table has (documented in doc_fragments/claim_table.py).
CLAIM_TABLE_OPTIONS = {"table": {"type": "str", "required": True}, "cluster": {"type": "str", "required": True}}


def claim_table_client(module):
    """The claim table's DynamoDB client (``aws.client``), once an empty table or cluster is refused."""
    if not module.params["cluster"].strip() or not module.params["table"].strip():
        module.fail_json(msg="cluster and table must not be empty")
    return aws.client(module, "dynamodb")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditional_failed(error):
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _scan(dynamodb, table, **params):
    """Every item of the table (all pages, strongly consistent) that is not a deletion mark."""
    items = aws.paginate(dynamodb, "scan", TableName=table, ConsistentRead=True, **params)["Items"]
    return [item for item in items if not is_marker(item)]


def claims_of(dynamodb, table, cluster):
    """Every claim item (plain dicts of strings) held by ``cluster``, all pages, strongly consistent."""
    items = _scan(dynamodb, table, FilterExpression="#c = :c", ExpressionAttributeNames={"#c": "cluster"},
                  ExpressionAttributeValues={":c": {"S": cluster}})
    claims = [{key: value.get("S", value.get("N")) for key, value in item.items()} for item in items]
    return sorted(claims, key=lambda item: item["subnet_id"])


def is_marker(item):
    return item["subnet_id"]["S"].startswith(MARKER_PREFIX)


def claimed_subnets(dynamodb, table):
    """{subnet_id: cluster} of every claim in the table, all pages."""
    return {item["subnet_id"]["S"]: item.get("cluster", {}).get("S") for item in _scan(dynamodb, table)}


def candidate_subnets(ec2, filters=None, subnet_ids=None, vpc_id=None):
    """The compute subnets found by tag filters (or the given ids), sorted by subnet id."""
    filters = dict(DEFAULT_SUBNET_FILTERS if filters is None else filters)
    if vpc_id:
        filters["vpc-id"] = vpc_id
    kwargs = {"Filters": [{"Name": key, "Values": value if isinstance(value, list) else [value]}
                          for key, value in filters.items()]}
    if subnet_ids:
        kwargs["SubnetIds"] = list(subnet_ids)
    subnets = aws.paginate(ec2, "describe_subnets", **kwargs)["Subnets"]
    return sorted(subnets, key=lambda subnet: subnet["SubnetId"])


def offering_zones(ec2, instance_types):
    """The availability zones that offer every one of ``instance_types`` ({type: set of zones} too): one read for all."""
    per_type = {instance_type: set() for instance_type in instance_types}
    offers = aws.paginate(ec2, "describe_instance_type_offerings", LocationType="availability-zone",
                          Filters=[{"Name": "instance-type", "Values": list(per_type)}])["InstanceTypeOfferings"]
    for offer in offers:
        per_type.setdefault(offer["InstanceType"], set()).add(offer["Location"])
    common = set.intersection(*per_type.values()) if per_type else None
    return common, per_type


def is_unused(subnet):
    """True when no address of the subnet is in use (a subnet is free only when wholly unused)."""
    size = ipaddress.ip_network(subnet["CidrBlock"]).num_addresses
    return subnet.get("AvailableIpAddressCount", size - AWS_RESERVED_ADDRESSES) >= size - AWS_RESERVED_ADDRESSES


def eligible_subnets(subnets, zones, claimed, cluster, require_unused=True):
    """Subnets this cluster may claim: in an offering zone, unclaimed (or its own) and unused unless its own."""
    eligible = []
    for subnet in subnets:
        owner = claimed.get(subnet["SubnetId"])
        if zones is not None and subnet["AvailabilityZone"] not in zones:
            continue
        if owner not in (None, cluster):
            continue
        if owner is None and require_unused and not is_unused(subnet):
            continue
        eligible.append(subnet)
    return eligible


def put_claim(dynamodb, table, cluster, subnet, attributes=None):
    """Claim one subnet atomically; True when it is now this cluster's, False when another holds it."""
    item = {key: {"S": str(value)} for key, value in (attributes or {}).items()}
    item.update({"subnet_id": {"S": subnet["SubnetId"]}, "cluster": {"S": cluster},
                 "availability_zone": {"S": subnet["AvailabilityZone"]}, "claimed_at": {"S": _now()}})
    try:
        aws.retrying(dynamodb).put_item(aws_retry=True, TableName=table, Item=item,
                                        ConditionExpression="attribute_not_exists(subnet_id) OR #c = :c",
                                        ExpressionAttributeNames={"#c": "cluster"},
                                        ExpressionAttributeValues={":c": {"S": cluster}})
    except Exception as error:  # pylint: disable=broad-exception-caught  # only the condition failure is expected
        if _conditional_failed(error):
            return False
        raise
    return True


def delete_claim(dynamodb, table, cluster, subnet_id):
    """Delete the claim on ``subnet_id`` if (and only if) ``cluster`` holds it; True when one was deleted."""
    try:
        aws.retrying(dynamodb).delete_item(aws_retry=True, TableName=table, Key={"subnet_id": {"S": subnet_id}},
                                           ConditionExpression="#c = :c", ExpressionAttributeNames={"#c": "cluster"},
                                           ExpressionAttributeValues={":c": {"S": cluster}})
    except Exception as error:  # pylint: disable=broad-exception-caught
        if _conditional_failed(error):
            return False
        raise
    return True


def claim(dynamodb, ec2, table, cluster, instance_types=(), filters=None, subnet_ids=None, vpc_id=None,
          require_unused=True, attributes=None, check_mode=False):
    """Claim a subnet for ``cluster`` (or find its claim); returns {subnet_id, availability_zone, changed, ...}.

    Raises ClaimError when the cluster's claim is in a zone that lacks an instance type, when no subnet is left, or
    when the cluster is marked as being deleted (BeingDeleted).
    """
    found = marker(dynamodb, table, cluster)
    if found:
        raise BeingDeleted(marker_error(cluster, found), found)
    zones, per_type = offering_zones(ec2, instance_types) if instance_types else (None, {})
    missing = sorted(t for t, z in per_type.items() if not z)
    if missing:
        raise ClaimError(f"instance types not offered in any availability zone of the region: {', '.join(missing)}")
    held = claims_of(dynamodb, table, cluster)
    if held:
        mine = held[0]
        if zones is not None and mine.get("availability_zone") not in zones:
            raise ClaimError(f"cluster {cluster} holds subnet {mine['subnet_id']} in {mine.get('availability_zone')}, "
                             f"which does not offer all of {', '.join(instance_types)} (offered in: "
                             f"{', '.join(sorted(zones)) or 'none'}); delete the cluster to move it")
        released = [item["subnet_id"] for item in held[1:]
                    if not check_mode and delete_claim(dynamodb, table, cluster, item["subnet_id"])]
        return {"subnet_id": mine["subnet_id"], "availability_zone": mine.get("availability_zone"),
                "changed": bool(released), "reused": True, "released": released, "claim": mine}
    subnets = candidate_subnets(ec2, filters, subnet_ids, vpc_id)
    claimed = claimed_subnets(dynamodb, table)
    eligible = eligible_subnets(subnets, zones, claimed, cluster, require_unused)
    for subnet in eligible:
        if check_mode:
            return {"subnet_id": subnet["SubnetId"], "availability_zone": subnet["AvailabilityZone"],
                    "changed": True, "reused": False, "released": [], "claim": None}
        if not put_claim(dynamodb, table, cluster, subnet, attributes):
            continue  # another run won this one: try the next
        # A concurrent run for the same cluster may have won another subnet: keep the lowest id, drop the rest.
        held = claims_of(dynamodb, table, cluster)
        keep = held[0] if held else None
        released = [item["subnet_id"] for item in held[1:] if delete_claim(dynamodb, table, cluster, item["subnet_id"])]
        if keep is None:  # our claim was dropped by the other run after it kept a lower one; it is the cluster's
            continue
        return {"subnet_id": keep["subnet_id"], "availability_zone": keep.get("availability_zone"),
                "changed": True, "reused": keep["subnet_id"] != subnet["SubnetId"], "released": released,
                "claim": keep}
    where = f" in {', '.join(sorted(zones))} (the zones offering {', '.join(instance_types)})" if zones is not None else ""
    raise ClaimError(f"no free compute subnet{where}: {len(subnets)} candidate subnets, "
                     f"{sum(1 for s in subnets if s['SubnetId'] in claimed)} claimed")


def release(dynamodb, table, cluster, check_mode=False):
    """Delete every claim of ``cluster``; returns the released subnet ids. Its deletion mark stays."""
    held = claims_of(dynamodb, table, cluster)
    if check_mode:
        return [item["subnet_id"] for item in held]
    return [item["subnet_id"] for item in held if delete_claim(dynamodb, table, cluster, item["subnet_id"])]


# --------------------------------------------------------------------------------------------------
# Deletion marks


def _marker_key(cluster):
    return {"subnet_id": {"S": MARKER_PREFIX + cluster}}


def _epoch():
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp())


def marker(dynamodb, table, cluster):
    """The cluster's deletion mark ({cluster, started_at, expires_at, live, ...}), or None."""
    item = aws.retrying(dynamodb).get_item(aws_retry=True, TableName=table, Key=_marker_key(cluster),
                                           ConsistentRead=True).get("Item")
    if not item:
        return None
    found = {key: value.get("S", value.get("N")) for key, value in item.items() if key != "subnet_id"}
    found["expires_at"] = int(found.get("expires_at", 0))
    found["live"] = found["expires_at"] > _epoch()
    return found


def put_marker(dynamodb, table, cluster, expires_in, attributes=None):
    """Mark ``cluster`` as being deleted for at most ``expires_in`` seconds (a delete cut short stops counting then)."""
    item = {key: {"S": str(value)} for key, value in (attributes or {}).items()}
    item.update(_marker_key(cluster))
    item.update({"cluster": {"S": cluster}, "started_at": {"S": _now()}, "expires_at": {"N": str(_epoch() + expires_in)}})
    aws.retrying(dynamodb).put_item(aws_retry=True, TableName=table, Item=item)


def delete_marker(dynamodb, table, cluster):
    aws.retrying(dynamodb).delete_item(aws_retry=True, TableName=table, Key=_marker_key(cluster))


def marker_error(cluster, found):
    """The message of a create refused by a deletion mark."""
    if found["live"]:
        return (f"cluster {cluster} is being deleted (a delete started at {found.get('started_at')}): "
                "run create again once that delete has ended (if it was interrupted, run delete again first)")
    return (f"cluster {cluster} has a delete that started at {found.get('started_at')} and did not end (interrupted): "
            "run delete again to finish it, then create")
