"""The lifecycle with the platform's real requests: UUID4 ids (36 characters each) and jobs that race.

The Workflow Service sends virtual lab and project ids as UUID4 strings, and AWX lets two jobs for one project run at
once (a retry, a duplicated request). Here the whole lifecycle runs with random UUIDs, Lustre and Slurm accounting
on; two creates for one project race, then two deletes, then a create and a delete. Nothing may be left.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import ipaddress
import time
import uuid

import pytest

from lifecycle_helpers import claims, clusters, lifecycle, orphans, run_together

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

PREFIX = "rrq"
SUBNETS = 3


@pytest.fixture(name="vlab", scope="module")
def fixture_vlab():
    return str(uuid.uuid4())


def key_arns(stats):
    return stats["admin_private_ssh_key_arn"], stats["user_private_ssh_key_arn"]


def test_uuid_lifecycle_with_lustre_and_accounting(emu, run_playbook, site, zone, vlab):
    project = str(uuid.uuid4())
    request = {"vlab_id": vlab, "project_id": project, "storage": "lustre", "accounting": "database"}
    name = names.short_cluster_name(vlab, project)
    assert len(f"pcluster-{vlab}-{project}") == 82 and len(name) == 40
    try:
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
        assert created.rc == 0, created.stdout[-4000:]
        stats = created.stats_data
        assert stats["clusterName"] == name and stats["clusterStatus"] == "CREATE_COMPLETE", stats
        assert stats["clusterFsxId"] and all(key_arns(stats)) and f":secret:{name}_sim-" in stats["user_private_ssh_key_arn"]

        # The full ids are in the tags of the cluster and of its key pairs.
        (stack,) = emu.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
        tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
        assert (tags["obp:costcenter:vlabid"], tags["obp:costcenter:project"]) == (vlab, project)
        for key in emu.client("ec2").describe_key_pairs(KeyNames=[name, f"{name}_sim"])["KeyPairs"]:
            assert {t["Key"]: t["Value"] for t in key["Tags"]}["obp:costcenter:project"] == project

        # The head node runs in the subnet claimed for the cluster.
        (subnet_id,) = [subnet for subnet, cluster in claims(emu, zone).items() if cluster == name]
        (subnet,) = emu.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        assert ipaddress.ip_address(stats["headNodeAddress"]) in ipaddress.ip_network(subnet["CidrBlock"]), stats

        described = lifecycle(run_playbook, "describe", site, vlab_id=vlab, project_id=project)
        assert described.rc == 0, described.stdout[-3000:]
        assert described.stats_data["clusterName"] == name and described.stats_data["clusterStatus"] == "CREATE_COMPLETE"
        assert key_arns(described.stats_data) == key_arns(stats)
        assert described.stats_data["clusterFsxId"] == stats["clusterFsxId"]

        listed = lifecycle(run_playbook, "list", site, vlab_id=vlab)
        assert listed.rc == 0, listed.stdout[-3000:]
        assert [(c["clusterName"], c["project_id"]) for c in listed.stats_data["clusters"]] == [(name, project)]

        updated = lifecycle(run_playbook, "update", site, **request)
        assert updated.rc == 0, updated.stdout[-3000:]
        assert updated.stats_data["clusterName"] == name and not updated.results("The cluster")["changed"]
    finally:
        deleted = lifecycle(run_playbook, "delete", site, vlab_id=vlab, project_id=project)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert deleted.stats_data["clusterName"] == name and deleted.stats_data["clusterStatus"] == "DELETE_COMPLETE"
    assert name not in clusters(emu)
    assert orphans(emu, vlab, site["hpc_infra_bucket"]) == []


def test_racing_creates_converge_then_racing_deletes(emu, run_playbook, site, vlab):
    project = str(uuid.uuid4())
    request = {"vlab_id": vlab, "project_id": project, "accounting": "database"}
    first, second = run_together(
        lambda: lifecycle(run_playbook, "create", site, name="create-first", **request),
        lambda: lifecycle(run_playbook, "create", site, name="create-second", **request))
    try:
        for run in (first, second):
            assert run.rc == 0, run.stdout[-4000:]
        assert first.stats_data["clusterName"] == second.stats_data["clusterName"] == names.short_cluster_name(vlab, project)
        assert key_arns(first.stats_data) == key_arns(second.stats_data) and all(key_arns(first.stats_data))
        assert first.stats_data["clusterName"] in clusters(emu)
    finally:
        deletes = run_together(
            lambda: lifecycle(run_playbook, "delete", site, name="delete-first", vlab_id=vlab, project_id=project),
            lambda: lifecycle(run_playbook, "delete", site, name="delete-second", vlab_id=vlab, project_id=project))
    # Both deletes succeed: the later one finds each piece being removed or gone.
    for run in deletes:
        assert run.rc == 0, run.stdout[-4000:]
        assert run.stats_data["clusterStatus"] == "DELETE_COMPLETE"
    assert orphans(emu, vlab, site["hpc_infra_bucket"]) == []


@pytest.mark.parametrize("delete_after", [0, 8, 14], ids=["together", "during-keys", "during-cluster"])
def test_create_racing_delete_leaves_a_whole_cluster_or_nothing(emu, run_playbook, site, vlab, delete_after):
    """Whatever the order, afterwards the project has its whole cluster (with its key pairs) or nothing at all.

    The delete always succeeds; a create that overlapped it removes what it made and fails saying so.
    """
    project = str(uuid.uuid4())
    request = {"vlab_id": vlab, "project_id": project}
    name = names.cluster_name(vlab, project)

    def delete_later():
        time.sleep(delete_after)
        return lifecycle(run_playbook, "delete", site, name="delete-racing", vlab_id=vlab, project_id=project)

    created, deleted = run_together(lambda: lifecycle(run_playbook, "create", site, name="create-racing", **request),
                                    delete_later)
    assert deleted.rc == 0, deleted.stdout[-4000:]
    if created.rc != 0:
        message = created.stats_data["error"]["message"]
        assert "ran while this create was running" in message or "is being deleted" in message, created.stdout[-4000:]
    try:
        if name in clusters(emu):
            described = lifecycle(run_playbook, "describe", site, vlab_id=vlab, project_id=project)
            assert all(key_arns(described.stats_data)), described.stats_data
            assert name in claims(emu, {"claim_table": site["hpc_claim_table"]}).values()
        else:
            assert orphans(emu, vlab, site["hpc_infra_bucket"]) == []
    finally:
        final = lifecycle(run_playbook, "delete", site, name="delete-final", vlab_id=vlab, project_id=project)
    assert final.rc == 0, final.stdout[-3000:]
    assert orphans(emu, vlab, site["hpc_infra_bucket"]) == []


def test_a_name_held_by_another_project_is_refused_before_any_write(emu, run_playbook, site):
    """The old name form is ambiguous (vlab a-b with project c, vlab a with project b-c): resources of that name that
    carry the other pair's cost tags are refused, naming both pairs, and nothing is written."""
    ec2 = emu.client("ec2")
    ec2.create_key_pair(KeyName="pcluster-rrqa-b-c", KeyType="ed25519", TagSpecifications=[{
        "ResourceType": "key-pair",
        "Tags": [{"Key": "obp:costcenter:vlabid", "Value": "rrqa-b"}, {"Key": "obp:costcenter:project", "Value": "c"}]}])
    try:
        emu.control("DELETE", "requests")
        run = lifecycle(run_playbook, "create", site, vlab_id="rrqa", project_id="b-c")
        assert run.rc != 0
        message = run.stats_data["error"]["message"]
        assert ("key pair pcluster-rrqa-b-c belongs to vlab_id=rrqa-b, project_id=c (its cost tags), not to this "
                "request's vlab_id=rrqa, project_id=b-c: a name collision; nothing was changed") in message, message
        assert [c for c in emu.requests()["calls"] if c["kind"] == "write"] == []
        assert "pcluster-rrqa-b-c" not in claims(emu, {"claim_table": site["hpc_claim_table"]}).values()
    finally:
        ec2.delete_key_pair(KeyName="pcluster-rrqa-b-c")
