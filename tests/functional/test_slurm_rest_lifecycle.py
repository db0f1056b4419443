"""The Slurm REST API through the lifecycle (slurm_rest=true), on the emulator over HTTP, with UUID4 ids.

The realm is a test Keycloak served on 127.0.0.1 (tests/oidc_realm.py); two creates race; the controller fetches its
JWKS at create and update and delivers it in the node variables; the head node's security group lets in the Workflow Service's CIDR only;
set_stats hands back slurmRestUrl; a rotated key reaches the node variables with an update (and changes OnNodeUpdated,
so that pcluster runs it); turned off by an update, the port closes; delete removes the security group. What the head node does with these variables is the
slurm_rest role's Molecule scenario.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import uuid

import pytest
import yaml

from lifecycle_helpers import lifecycle, orphans, run_together, writes
from oidc_realm import Realm, rsa_jwk
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

PREFIX = "rst"
SUBNETS = 2
WORKFLOW_SERVICE = "10.20.0.0/16"


@pytest.fixture(scope="module")
def realm():
    served = Realm()
    yield served
    served.server.shutdown()


def node_vars(emu, site, cluster):
    body = emu.client("s3").get_object(Bucket=site["hpc_infra_bucket"],
                                       Key=f"hpc_provisioner/node/clusters/{cluster}/node_vars.yml")["Body"].read()
    return yaml.safe_load(body)


def rest_group(emu, cluster):
    groups = emu.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{cluster}-slurm-rest"]}])["SecurityGroups"]
    return groups[0] if groups else None


def head_node_groups(emu, cluster):
    reservations = emu.client("ec2").describe_instances(Filters=[
        {"Name": "tag:parallelcluster:cluster-name", "Values": [cluster]},
        {"Name": "tag:parallelcluster:node-type", "Values": ["HeadNode"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    (instance,) = [i for r in reservations for i in r["Instances"]]
    return {g["GroupId"] for g in instance["SecurityGroups"]}


def test_rest_api_from_create_to_delete(emu, run_playbook, site, realm):
    vlab_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
    cluster = names.cluster_name(vlab_id, project_id)
    realm_url = realm.serve(f"/realms/{PREFIX}", keys=[rsa_jwk("key-1", alg="RS256", use="sig")])
    rest_site = dict(site, hpc_slurm_rest_realm_url=realm_url, hpc_slurm_rest_allowed_cidrs=[WORKFLOW_SERVICE])
    request = {"vlab_id": vlab_id, "project_id": project_id, "slurm_rest": True}
    try:
        # Two jobs for one project at once (AWX allows it): both succeed, with one group and one endpoint.
        created, twin = run_together(
            lambda: lifecycle(run_playbook, "create", rest_site, name="create-first", wait=True, **request),
            lambda: lifecycle(run_playbook, "create", rest_site, name="create-second", wait=True, **request))
        for run in (created, twin):
            assert run.rc == 0, run.stdout[-4000:]
        stats = created.stats_data
        assert stats["slurmRestUrl"] == f"http://{stats['headNodeAddress']}:6820", stats
        assert twin.stats_data["slurmRestUrl"] == stats["slurmRestUrl"]

        group = rest_group(emu, cluster)
        assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]], p["UserIdGroupPairs"])
                for p in group["IpPermissions"]] == [("tcp", 6820, 6820, [WORKFLOW_SERVICE], [])]
        assert {t["Key"]: t["Value"] for t in group["Tags"]}["obp:costcenter:project"] == project_id
        assert group["GroupId"] in head_node_groups(emu, cluster)

        delivered = node_vars(emu, site, cluster)
        assert delivered["node_slurm_rest"] is True and delivered["slurm_rest_token_issuer"] == realm_url
        assert [k["kid"] for k in delivered["slurm_rest_jwks"]["keys"]] == ["key-1"]
        assert delivered["slurm_rest_allowed_cidrs"] == [WORKFLOW_SERVICE] and delivered["slurm_rest_allowed_users"] == ["sim"]
        # ParallelCluster's Slurm, no packages; accounting off: slurmrestd without its slurmdbd plugin.
        assert (delivered["slurm_rest_conf_dir"], delivered["slurm_rest_install_packages"],
                delivered["slurm_rest_accounting"]) == ("/opt/slurm/etc", False, False)

        described = lifecycle(run_playbook, "describe", site, vlab_id=vlab_id, project_id=project_id)
        assert described.stats_data["slurmRestUrl"] == stats["slurmRestUrl"]

        emu.control("DELETE", "requests")
        again = lifecycle(run_playbook, "create", rest_site, **request)
        assert again.rc == 0 and writes(emu) == 0, emu.requests()

        # Keycloak rotates its key: the update fetches the new JWKS, and the configuration changes with it (the node
        # variables' digest in OnNodeUpdated's Args), so that pcluster update runs OnNodeUpdated on the head node.
        realm.serve(f"/realms/{PREFIX}", keys=[rsa_jwk("key-2", alg="RS256", use="sig")])
        updated = lifecycle(run_playbook, "update", rest_site, wait=True, **request)
        assert updated.rc == 0, updated.stdout[-4000:]
        assert [k["kid"] for k in node_vars(emu, site, cluster)["slurm_rest_jwks"]["keys"]] == ["key-2"]
        assert "update" in updated.results("The cluster")["actions"]
        assert updated.stats_data["slurmRestUrl"] == stats["slurmRestUrl"]

        # Turned off: the port closes (the group keeps no rule), and describe hands back no REST endpoint.
        closed = lifecycle(run_playbook, "update", rest_site, wait=True, vlab_id=vlab_id, project_id=project_id,
                           slurm_rest=False)
        assert closed.rc == 0, closed.stdout[-4000:]
        assert rest_group(emu, cluster)["IpPermissions"] == []
        assert node_vars(emu, site, cluster)["node_slurm_rest"] is False
        described = lifecycle(run_playbook, "describe", site, vlab_id=vlab_id, project_id=project_id)
        assert described.stats_data["slurmRestUrl"] is None and described.stats_data["headNodeAddress"]
    finally:
        deleted = lifecycle(run_playbook, "delete", site, vlab_id=vlab_id, project_id=project_id)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert rest_group(emu, cluster) is None
    assert orphans(emu, vlab_id, site["hpc_infra_bucket"]) == []
