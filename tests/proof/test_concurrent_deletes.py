"""Ten delete playbooks at once, as AWX runs them when a virtual lab closes: each succeeds and nothing is left.

With 10 concurrent deletes the emulator once answered two of them with an HTTP 500 (its CloudFormation fill settled a
stack deletion twice: a KeyError), which it did not even count as an internal error; those projects' claims, key
pairs, secrets and node assets stayed. Here the 10 clusters are created first (a few at a time: the machine may have
two cores), then deleted all at once; the emulator's request log must show no 500, and the orphan check must be empty.
The subnets are claimed only while wholly unused (``hpc_require_unused_subnets``), and are wholly unused again after.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import concurrent.futures
import ipaddress
import uuid

import pytest

from lifecycle_helpers import clusters, lifecycle, orphans

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim

PREFIX = "cdl"
CLUSTERS = 10
SUBNETS = CLUSTERS
CREATING_AT_ONCE = 3  # creates in parallel (each is ~30 s of CPU-bound pcluster work)
# The platform's ids are UUID4 strings; False: the short ids of the old service (vlab "cdlv", projects "p0".."p9").
UUID_IDS = True


@pytest.fixture(name="ids", scope="module")
def fixture_ids():
    """(vlab id, [project ids])."""
    if UUID_IDS:
        return str(uuid.uuid4()), [str(uuid.uuid4()) for _index in range(CLUSTERS)]
    return "cdlv", [f"p{index}" for index in range(CLUSTERS)]


def run_all(calls, at_once):
    """Run the calls, ``at_once`` of them at a time (threads); their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_ten_concurrent_deletes_succeed_and_leave_nothing(emu, run_playbook, site, zone, ids):
    vlab, projects = ids
    site = dict(site, hpc_require_unused_subnets=True)
    created = run_all([lambda project=project: lifecycle(run_playbook, "create", site, name=f"create-{project}",
                                                         vlab_id=vlab, project_id=project)
                       for project in projects], CREATING_AT_ONCE)
    for run in created:
        assert run.rc == 0, run.stdout[-4000:]
    names = [run.stats_data["clusterName"] for run in created]
    assert len(set(names)) == CLUSTERS and set(names) <= clusters(emu)
    subnets = {s["SubnetId"]: s for s in emu.client("ec2").describe_subnets(
        SubnetIds=[s["id"] for s in zone["subnet_ids"]])["Subnets"]}
    for run in created:  # each head node runs in its own claimed subnet
        (subnet_id,) = [subnet for subnet, cluster in subnet_claim.claimed_subnets(
            emu.client("dynamodb"), zone["claim_table"]).items() if cluster == run.stats_data["clusterName"]]
        head = emu.client("ec2").describe_instances(Filters=[
            {"Name": "tag:parallelcluster:cluster-name", "Values": [run.stats_data["clusterName"]]},
            {"Name": "tag:parallelcluster:node-type", "Values": ["HeadNode"]}])["Reservations"][0]["Instances"][0]
        assert head["SubnetId"] == subnet_id
        assert ipaddress.ip_address(head["PrivateIpAddress"]) in ipaddress.ip_network(subnets[subnet_id]["CidrBlock"])

    emu.control("DELETE", "requests")
    deleted = run_all([lambda project=project: lifecycle(run_playbook, "delete", site, name=f"delete-{project}",
                                                         vlab_id=vlab, project_id=project)
                       for project in projects], CLUSTERS)
    assert emu.requests()["internal_errors"] == []
    for project, run in zip(projects, deleted):
        assert run.rc == 0, (project, run.stdout[-4000:])
        assert run.stats_data["clusterStatus"] == "DELETE_COMPLETE", (project, run.stats_data)
    assert not set(names) & clusters(emu)
    assert orphans(emu, vlab, site["hpc_infra_bucket"]) == []
    ec2 = emu.client("ec2")
    after = ec2.describe_subnets(SubnetIds=list(subnets))["Subnets"]
    assert [s["SubnetId"] for s in after if not subnet_claim.is_unused(s)] == []
    assert ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": list(subnets)}])["NetworkInterfaces"] == []
