"""obi.hpc_provisioner.subnet_claim: atomic subnet claims in DynamoDB, on the emulator over HTTP.

The race test calls the module's claim function from many threads at once (each with its own boto3 clients), for
distinct clusters and duplicates of one cluster: no subnet is ever held twice and every cluster ends with one claim.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import threading
from collections import Counter

import pytest

from emulator.seed import seed
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc

MODULE = "obi.hpc_provisioner.subnet_claim"
PREFIX = "scl"


@pytest.fixture(scope="module")
def zone(emulator):
    return seed(emulator.endpoint, prefix=PREFIX, subnet_count=6)


@pytest.fixture
def table(zone, emu):
    """The zone's claim table, emptied before the test."""
    dynamodb = emu.client("dynamodb")
    for subnet_id in sc.claimed_subnets(dynamodb, zone["claim_table"]):
        dynamodb.delete_item(TableName=zone["claim_table"], Key={"subnet_id": {"S": subnet_id}})
    return zone["claim_table"]


FILTERS = {"tag:HPC_Goal": "compute_cluster", "tag:landing-zone": PREFIX}


def claim_task(title, table, cluster, may_fail=False, **options):
    options = dict({"table": table, "cluster": cluster, "subnet_filters": FILTERS}, **options)
    return dict({"name": title, MODULE: options}, **({"ignore_errors": True} if may_fail else {}))


def connection_defaults(emu):
    return {"endpoint_url": emu.endpoint, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}


def play(emu, tasks):
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_dump([{"name": "claims", "hosts": "localhost", "connection": "local", "gather_facts": False,
                            "module_defaults": {MODULE: connection_defaults(emu)}, "tasks": tasks}], sort_keys=False)


def writes(emu):
    return [c for c in emu.requests()["calls"] if c["kind"] == "write"]


def test_claim_reuse_and_release(emu, run_playbook, zone, table):
    run = run_playbook(play(emu, [
        dict(claim_task("Check mode", table, "pcluster-a-1", instance_types=["t3.micro"]), check_mode=True),
        claim_task("Claim", table, "pcluster-a-1", instance_types=["t3.micro"], attributes={"vlab_id": "a"}),
        claim_task("Again", table, "pcluster-a-1", instance_types=["t3.micro"]),
        claim_task("Other", table, "pcluster-a-2", instance_types=["t3.micro"]),
        claim_task("Release", table, "pcluster-a-1", state="absent"),
        claim_task("Release again", table, "pcluster-a-1", state="absent"),
    ]))
    assert run.rc == 0, run.stdout + run.stderr
    check, first, again, other = (run.results(n) for n in ("Check mode", "Claim", "Again", "Other"))
    assert check["changed"] and check["subnet_id"] == first["subnet_id"]
    assert first["changed"] and not first["reused"] and first["claim"]["vlab_id"] == "a"
    assert first["subnet_id"] in {s["id"] for s in zone["subnet_ids"]}
    assert not again["changed"] and again["reused"] and again["subnet_id"] == first["subnet_id"]
    assert other["subnet_id"] != first["subnet_id"]
    assert run.results("Release")["released"] == [first["subnet_id"]] and run.results("Release")["changed"]
    assert not run.results("Release again")["changed"]
    held = sc.claimed_subnets(emu.client("dynamodb"), table)
    assert held == {other["subnet_id"]: "pcluster-a-2"}


def test_check_mode_writes_nothing(emu, run_playbook, table):
    emu.control("DELETE", "requests")
    run_playbook(play(emu, [claim_task("Check", table, "pcluster-c-1", instance_types=["t3.micro"])]), check=True)
    assert writes(emu) == []
    assert sc.claimed_subnets(emu.client("dynamodb"), table) == {}


def test_zone_must_offer_the_instance_types(emu, run_playbook, table):
    run = run_playbook(play(emu, [
        claim_task("HPC", table, "pcluster-h-1", may_fail=True, instance_types=["hpc7a.96xlarge", "t3.medium"])]))
    result = run.results("HPC")
    assert result["failed"] and "hpc7a.96xlarge" in result["msg"] and "not offered" in result["msg"]
    assert sc.claimed_subnets(emu.client("dynamodb"), table) == {}


def test_offering_zones_of_several_types_in_one_read(emu):
    zones, per_type = sc.offering_zones(emu.client("ec2"), ["t3.micro", "t3.medium", "hpc7a.96xlarge"])
    assert set(per_type) == {"t3.micro", "t3.medium", "hpc7a.96xlarge"} and per_type["t3.micro"]
    assert zones == per_type["t3.micro"] & per_type["t3.medium"] & per_type["hpc7a.96xlarge"]
    assert [c["count"] for c in emu.requests()["calls"] if c["operation"] == "DescribeInstanceTypeOfferings"] == [1]


def test_claim_only_in_offering_zones(emu, zone, table):
    ec2, dynamodb = emu.client("ec2"), emu.client("dynamodb")
    zones = sc.offering_zones(ec2, ["t3.micro"])[0]
    only = sorted(zones)[1:2]
    subnets = sc.candidate_subnets(ec2, FILTERS)
    allowed = sc.eligible_subnets(subnets, set(only), {}, "x")
    assert allowed and {s["AvailabilityZone"] for s in allowed} == set(only)
    result = sc.claim(dynamodb, ec2, table, "pcluster-z-1", filters=FILTERS,
                      subnet_ids=[s["SubnetId"] for s in allowed])
    assert result["availability_zone"] in only


def test_release_refused_while_the_cluster_exists(emu, run_playbook, table):
    cfn = emu.client("cloudformation")
    cfn.create_stack(StackName="pcluster-r-1", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    try:
        run = run_playbook(play(emu, [
            claim_task("Claim", table, "pcluster-r-1"),
            claim_task("Release", table, "pcluster-r-1", may_fail=True, state="absent")]))
        assert run.results("Release")["failed"] and "still exists" in run.results("Release")["msg"]
        assert "pcluster-r-1" in sc.claimed_subnets(emu.client("dynamodb"), table).values()
    finally:
        cfn.delete_stack(StackName="pcluster-r-1")


def test_bad_input_fails_without_writes(emu, run_playbook, table):
    emu.control("DELETE", "requests")
    run = run_playbook(play(emu, [claim_task("Empty cluster", table, " ", may_fail=True)]))
    assert run.results("Empty cluster")["failed"]
    assert writes(emu) == []


def test_race_no_subnet_held_twice(emu, zone, table):
    """18 concurrent claims: 8 distinct clusters (6 subnets) plus duplicates of 3 of them, 3 times each."""
    clusters = [f"pcluster-race-{i}" for i in range(8)]
    requests = clusters + [c for c in clusters[:3] for _copy in range(3)] + clusters[3:4]
    outcomes, errors = [], []
    barrier = threading.Barrier(len(requests))

    def worker(cluster):
        dynamodb, ec2 = emu.client("dynamodb"), emu.client("ec2")
        barrier.wait()
        try:
            outcomes.append((cluster, sc.claim(dynamodb, ec2, table, cluster, ["t3.micro"], FILTERS)["subnet_id"]))
        except sc.ClaimError as error:
            errors.append((cluster, str(error)))

    threads = [threading.Thread(target=worker, args=(c,)) for c in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    held = sc.claimed_subnets(emu.client("dynamodb"), table)
    # Every subnet is held by at most one cluster (the table's key), and every cluster holds at most one subnet.
    assert max(Counter(held.values()).values()) == 1, held
    assert len(held) == len(zone["subnet_ids"]) == 6
    # Every successful run saw the subnet its cluster holds now (duplicates converge on one claim).
    for cluster, subnet_id in outcomes:
        assert held.get(subnet_id) == cluster, (cluster, subnet_id, held)
    # The clusters that got nothing were told there was no free subnet.
    losers = set(clusters) - set(held.values())
    assert len(losers) == 2 and all("no free compute subnet" in message for _cluster, message in errors)
    assert {cluster for cluster, _message in errors} == losers
