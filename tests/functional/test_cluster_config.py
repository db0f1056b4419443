"""Role obi.hpc_provisioner.cluster_config: every tier and variant renders and passes pcluster's own schema offline;
bad input fails naming the valid values; Lustre passes pcluster's create dryrun on the seeded landing zone."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import re
from pathlib import Path

import pytest
import yaml

from emulator.seed import seed
from oidc_realm import rsa_jwk

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

ROLE = "obi.hpc_provisioner.cluster_config"
TIERS = ["debug", "prod-mpi", "mixed-prod-mpi", "prod-mpi-intel", "prod-mpi-mem", "prod-mpi-hpc", "prod-batch"]
NODE_SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh"


@pytest.fixture(scope="module")
def zone(emulator):
    return seed(emulator.endpoint, prefix="ccf", subnet_count=2)


def role_vars(zone, **overrides):
    values = {
        "cluster_config_vlab_id": "vlab-cc", "cluster_config_project_id": "proj-cc",
        "cluster_config_subnet_id": zone["subnet_ids"][0]["id"],
        "cluster_config_security_group_ids": [zone["security_group_id"]],
        "cluster_config_home_efs_id": zone["efs_id"], "cluster_config_ami_id": zone["ami_id"],
        "cluster_config_public_bucket": zone["buckets"]["public"],
        "cluster_config_private_bucket": zone["buckets"]["private"],
        "cluster_config_scratch_bucket": zone["buckets"]["scratch"],
        "cluster_config_infra_bucket": zone["buckets"]["infra_assets"],
        "cluster_config_node_script_url": f"s3://{zone['buckets']['infra_assets']}/hpc_provisioner/node/on_node_configured.sh",
        "cluster_config_node_collection_url": f"s3://{zone['buckets']['infra_assets']}/hpc_provisioner/node/obi.tar.gz",
        "cluster_config_node_vars_url": f"s3://{zone['buckets']['infra_assets']}/hpc_provisioner/node/vars.yml",
        "cluster_config_sim_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbb sim",
        "cluster_config_fsx_id": "fs-0123456789abcdef0",
        "cluster_config_database_uri": f"{zone['rds']['endpoint']}:{zone['rds']['port']}",
        "cluster_config_database_user": zone["rds"]["master_username"],
        "cluster_config_database_password_secret_arn": zone["rds"]["master_password_secret_arn"],
        "cluster_config_external_slurmdbd_host": "10.0.250.10",
        "cluster_config_munge_key_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:munge-AbCdEf",
    }
    values.update(overrides)
    return values


def render_tasks(cases):
    """One include_role per case, each followed by a set_fact named after the case that keeps its result."""
    tasks = []
    for label, variables in cases.items():
        tasks.append({"name": f"Render {label}", "ansible.builtin.include_role": {"name": ROLE}, "vars": variables})
        tasks.append({"name": f"Keep {label}", "ansible.builtin.set_fact": {
            "kept": "{{ cluster_config_result }}", "node_vars": "{{ cluster_config_node_vars }}"}})
    return tasks


def rendered(run, label):
    return run.results(f"Keep {label}")["ansible_facts"]["kept"]


def node_vars(run, label):
    return run.results(f"Keep {label}")["ansible_facts"]["node_vars"]


def queue_of(config):
    (queue,) = config["Scheduling"]["SlurmQueues"]
    return queue


def test_every_tier_and_variant_renders_and_passes_the_schema(run_playbook, zone):
    cases = {tier: role_vars(zone, cluster_config_tier=tier) for tier in TIERS}
    cases.update({
        "existing_fsx": role_vars(zone, cluster_config_storage="existing_fsx"),
        "efs_only": role_vars(zone, cluster_config_storage="efs_only"),
        "accounting-database": role_vars(zone, cluster_config_accounting="database"),
        "accounting-external": role_vars(zone, cluster_config_accounting="external"),
        "site-tier": role_vars(zone, cluster_config_tier="tiny", cluster_config_site_tiers={
            "tiny": {"compute_resources": [{"name": "t3small", "instance_type": "t3.small", "max_count": 2}],
                     "efa": False, "placement_group": False, "max_nodes": 2, "max_time": "01:00:00"},
            "debug": {"max_nodes": 4}}),
        "no-logs": role_vars(zone, cluster_config_logs_enabled=False),
        "job-logs": role_vars(zone, cluster_config_job_logs_enabled=True),
    })
    run = run_playbook(render_tasks(cases))
    assert run.rc == 0, run.stdout[-3000:] + run.stderr

    for tier in TIERS:
        config = rendered(run, tier)
        queue = queue_of(config)
        assert queue["Name"] == tier and queue["AllocationStrategy"] == "lowest-price"
        assert all(r["MinCount"] == 0 for r in queue["ComputeResources"])
        assert set(queue["CustomSlurmSettings"]) == {"MaxNodes", "MaxTime"}
        assert config["HeadNode"]["Imds"] == {"Secured": True} and config["Imds"] == {"ImdsSupport": "v2.0"}
        assert config["Scheduling"]["SlurmSettings"]["Dns"] == {"DisableManagedDns": True, "UseEc2Hostnames": True}
        cloudwatch = {"Enabled": True, "RetentionInDays": 90, "DeletionPolicy": "Retain"}
        assert config["Monitoring"]["Logs"]["CloudWatch"] == cloudwatch
        assert {t["Key"]: t["Value"] for t in config["Tags"]} == {
            "obp:costcenter:vlabid": "vlab-cc", "obp:costcenter:project": "proj-cc", "SBO_Billing": "hpc:parallelcluster"}
        assert config["HeadNode"]["Ssh"]["KeyName"] == "pcluster-vlab-cc-proj-cc"
    mixed = {r["InstanceType"]: r for r in (dict(c, InstanceType=c["Instances"][0]["InstanceType"])
                                            for c in queue_of(rendered(run, "mixed-prod-mpi"))["ComputeResources"])}
    assert mixed["c6a.48xlarge"]["DisableSimultaneousMultithreading"] is True
    assert mixed["c7a.48xlarge"]["DisableSimultaneousMultithreading"] is False and mixed["c7a.48xlarge"]["Efa"]["Enabled"]
    batch = queue_of(rendered(run, "prod-batch"))
    assert [r["MaxCount"] for r in batch["ComputeResources"]] == [16, 10]
    assert not batch["Networking"]["PlacementGroup"]["Enabled"] and not batch["ComputeResources"][0]["Efa"]["Enabled"]
    assert queue_of(rendered(run, "prod-mpi"))["Networking"]["PlacementGroup"]["Enabled"]

    lustre = rendered(run, "debug")["SharedStorage"]
    assert [s["StorageType"] for s in lustre] == ["Efs", "FsxLustre"] and lustre[0]["MountDir"] == "/sbo/home"
    settings = lustre[1]["FsxLustreSettings"]
    assert lustre[1]["Name"] == "vlab-cc-proj-cc" and settings["DeploymentType"] == "PERSISTENT_2"
    dras = {d["FileSystemPath"]: d for d in settings["DataRepositoryAssociations"]}
    assert set(dras) == {"/project/public", "/project/private", "/scratch"}
    assert "AutoExportPolicy" not in dras["/project/public"] and dras["/scratch"]["AutoExportPolicy"]
    assert dras["/scratch"]["DataRepositoryPath"].endswith("/vlab-cc/proj-cc")
    existing = rendered(run, "existing_fsx")["SharedStorage"][1]
    assert existing["FsxLustreSettings"] == {"FileSystemId": "fs-0123456789abcdef0"}
    efs_only = rendered(run, "efs_only")
    assert [s["StorageType"] for s in efs_only["SharedStorage"]] == ["Efs"]
    infra = zone["buckets"]["infra_assets"]
    node_action = {"Script": f"s3://{infra}/hpc_provisioner/node/on_node_configured.sh",
                   "Args": [f"s3://{infra}/hpc_provisioner/node/obi.tar.gz", f"s3://{infra}/hpc_provisioner/node/vars.yml"]}
    # The head node runs it again after an update (ParallelCluster rewrites its Slurm configuration then), with the node
    # variables' digest as a third argument: their change alone changes the configuration.
    updated = efs_only["HeadNode"]["CustomActions"]["OnNodeUpdated"]
    assert efs_only["HeadNode"]["CustomActions"]["OnNodeConfigured"] == node_action
    assert updated["Script"] == node_action["Script"] and updated["Args"][:2] == node_action["Args"]
    assert re.fullmatch("[0-9a-f]{64}", updated["Args"][2])
    assert updated["Args"][2] != rendered(run, "debug")["HeadNode"]["CustomActions"]["OnNodeUpdated"]["Args"][2]
    assert queue_of(efs_only)["CustomActions"] == {"OnNodeConfigured": node_action}
    mounts = {m["path"]: m for m in node_vars(run, "efs_only")["node_bootstrap_s3_mounts"]}
    assert mounts["/obi/data/scratch"] == {"path": "/obi/data/scratch", "bucket": zone["buckets"]["scratch"],
                                           "prefix": "vlab-cc/proj-cc/"}
    assert mounts["/obi/data/project/public"]["read_only"] and set(mounts) == {
        "/obi/data/project/public", "/obi/data/project/private", "/obi/data/scratch"}
    lustre_nodes = node_vars(run, "debug")
    assert lustre_nodes["node_bootstrap_s3_mounts"] == [] and lustre_nodes["node_bootstrap_cluster_name"] == "pcluster-vlab-cc-proj-cc"
    assert (lustre_nodes["node_bootstrap_vlab_id"], lustre_nodes["node_bootstrap_project_id"]) == ("vlab-cc", "proj-cc")
    assert lustre_nodes["node_bootstrap_sim_pubkey"].startswith("ssh-ed25519 ")
    assert lustre_nodes["node_bootstrap_scratch_root"] == "/obi/data/scratch"
    assert (lustre_nodes["node_job_logs"], lustre_nodes["node_accounting"]) == (False, False)
    assert not [k for k in lustre_nodes if k.startswith(("cloudwatch_logs_", "slurm_accounting_"))]
    database = rendered(run, "accounting-database")["Scheduling"]["SlurmSettings"]["Database"]
    assert database["PasswordSecretArn"] == zone["rds"]["master_password_secret_arn"]
    assert database["DatabaseName"] == "pcluster_vlab_cc_proj_cc"
    external = rendered(run, "accounting-external")["Scheduling"]["SlurmSettings"]
    assert external["ExternalSlurmdbd"] == {"Host": "10.0.250.10", "Port": 6819} and external["MungeKeySecretArn"]
    assert "Database" not in rendered(run, "debug")["Scheduling"]["SlurmSettings"]
    assert queue_of(rendered(run, "site-tier"))["ComputeResources"][0]["Instances"] == [{"InstanceType": "t3.small"}]
    assert rendered(run, "no-logs")["Monitoring"]["Logs"]["CloudWatch"]["Enabled"] is False


@pytest.mark.parametrize("overrides, expected", [
    ({"cluster_config_tier": "huge"}, "one of debug, prod-mpi"),
    ({"cluster_config_storage": "nfs"}, "lustre, existing_fsx, efs_only"),
    ({"cluster_config_storage": "existing_fsx", "cluster_config_fsx_id": ""}, "existing_fsx with fsx_id"),
    ({"cluster_config_accounting": "database", "cluster_config_database_password_secret_arn": ""},
     'cluster_config_accounting: "database" is not valid'),
    ({"cluster_config_vlab_id": "bad_id"}, "vlab_id: 'bad_id' is not valid"),
    ({"cluster_config_site_tiers": {"debug": {"compute_resources": [
        {"name": "t3micro", "instance_type": "t3.micro", "max_count": -1}]}}},
     "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount: Must be greater than or equal to 1."),
    ({"cluster_config_subnet_id": "subnet-0a"},
     'cluster_config: cluster_config_subnet_id: "subnet-0a" is not valid: a subnet id (subnet- and 8 or 17'),
    ({"cluster_config_security_group_ids": ["sg-0123abcd", "sg-x"]},
     'cluster_config_security_group_ids: "sg-0123abcd, sg-x" is not valid'),
    ({"cluster_config_home_efs_id": "fs-0a"}, 'cluster_config_home_efs_id: "fs-0a" is not valid: an EFS file system id'),
    ({"cluster_config_storage": "existing_fsx", "cluster_config_fsx_id": "fs-123"}, "an FSx file system id (fs- and 8 to 18"),
    ({"cluster_config_accounting": "external", "cluster_config_munge_key_secret_arn": "munge"},
     'cluster_config_accounting: "external" is not valid'),
    ({"cluster_config_fsx_throughput": "fast"}, "cluster_config_fsx_throughput"),
])
def test_bad_input_fails_naming_the_problem(run_playbook, zone, overrides, expected):
    run = run_playbook([{"name": "Render", "ansible.builtin.include_role": {"name": ROLE},
                         "vars": role_vars(zone, **overrides)}])
    assert run.rc != 0
    assert expected in run.stdout.replace('\\"', '"'), run.stdout[-3000:]  # the json callback escapes quotes


@pytest.mark.parametrize("missing", ["cluster_config_vlab_id", "cluster_config_subnet_id", "cluster_config_security_group_ids",
                                     "cluster_config_home_efs_id", "cluster_config_ami_id"])
def test_a_missing_required_variable_is_named(run_playbook, zone, missing):
    variables = role_vars(zone)
    del variables[missing]
    run = run_playbook([{"name": "Render", "ansible.builtin.include_role": {"name": ROLE}, "vars": variables}])
    assert run.rc != 0
    assert f"missing required arguments: {missing}" in run.stdout, run.stdout[-3000:]


def test_the_tiers_entry_point_merges_the_site_tiers_once(run_playbook):
    """What a playbook checks a tier against (entry point tiers) is what the role renders from."""
    run = run_playbook([
        {"name": "Tiers", "ansible.builtin.include_role": {"name": ROLE, "tasks_from": "tiers"},
         "vars": {"cluster_config_site_tiers": {"tiny": {"max_nodes": 2}, "debug": {"max_nodes": 4}}}},
        {"name": "Keep", "ansible.builtin.set_fact": {"kept": "{{ cluster_config_merged_tiers }}"}},
    ])
    assert run.rc == 0, run.stdout[-3000:]
    merged = run.results("Keep")["ansible_facts"]["kept"]
    assert set(merged) == set(TIERS + ["tiny"]) and merged["debug"]["max_nodes"] == 4
    assert merged["debug"]["compute_resources"] == [{"name": "t3micro", "instance_type": "t3.micro", "max_count": 8}]


def test_uuid_ids_with_accounting_get_the_short_names(run_playbook, zone):
    """Two UUID4 ids with accounting: the cluster and FSx names of the naming rule, within pcluster's limits."""
    vlab, project = "3f2b8c1e-9d4a-4e6b-8f0c-1a2b3c4d5e6f", "a0b1c2d3-e4f5-4a6b-9c8d-7e6f5a4b3c2d"
    run = run_playbook(render_tasks({"uuids": role_vars(
        zone, cluster_config_vlab_id=vlab, cluster_config_project_id=project, cluster_config_accounting="database",
        cluster_config_storage="lustre")}))
    assert run.rc == 0, run.stdout[-3000:]
    config = rendered(run, "uuids")
    assert config["Tags"] and {t["Key"]: t["Value"] for t in config["Tags"]}["obp:costcenter:project"] == project
    assert node_vars(run, "uuids")["node_bootstrap_cluster_name"] == names.short_cluster_name(vlab, project)
    facts = {"cluster_config_result": config}
    (lustre,) = [s for s in facts["cluster_config_result"]["SharedStorage"] if s["StorageType"] == "FsxLustre"]
    assert lustre["Name"] == names.project_names(vlab, project, "database")["fsx"] and len(lustre["Name"]) == 30


def test_lustre_config_passes_pcluster_dryrun(emu, run_playbook, zone):
    """pcluster's create dryrun (validators against the emulator) accepts the Lustre variant with accounting."""
    emu.client("s3").put_object(Bucket=zone["buckets"]["infra_assets"], Key="hpc_provisioner/node/on_node_configured.sh",
                                Body=NODE_SCRIPT.read_bytes())
    emu.client("ec2").create_key_pair(KeyName="pcluster-vlab-cc-proj-cc", KeyType="ed25519")
    try:
        run = run_playbook([
            {"name": "Render", "ansible.builtin.include_role": {"name": ROLE},
             "vars": role_vars(zone, cluster_config_accounting="database", cluster_config_logs_enabled=False)},
            {"name": "Dryrun", "check_mode": True,
             "obi.hpc_provisioner.pcluster_cluster": {"name": "pcluster-vlab-cc-proj-cc", "config": "{{ cluster_config_result }}"}},
        ])
    finally:
        emu.client("ec2").delete_key_pair(KeyName="pcluster-vlab-cc-proj-cc")
    assert run.rc == 0, run.stdout[-3000:]
    dryrun = run.results("Dryrun")
    assert dryrun["changed"] and not [m for m in dryrun["validation_messages"] if m["level"] == "ERROR"]
    assert yaml.safe_dump(dryrun.get("validation_messages"))


REST_GROUP = "sg-0a1b2c3d4e5f60718"
# The slurm_rest role's variables as the lifecycle passes them (create.yml, lifecycle_slurm_rest_vars).
REST_VARS = {"slurm_rest_jwks": {"keys": [rsa_jwk("key-1", alg="RS256", use="sig")]}, "slurm_rest_token_issuer": "",
             "slurm_rest_allowed_cidrs": ["10.20.0.0/16"], "slurm_rest_allowed_security_groups": [],
             "slurm_rest_allowed_clients": [], "slurm_rest_port": 6820, "slurm_rest_user_claim": "preferred_username",
             "slurm_rest_max_token_lifespan": 3600}


@pytest.mark.parametrize("label, overrides, role", [
    ("job-logs", {"cluster_config_job_logs_enabled": True}, "cloudwatch_logs"),
    ("accounting-database", {"cluster_config_accounting": "database"}, "slurm_accounting"),
    ("accounting-external", {"cluster_config_accounting": "external"}, "slurm_accounting"),
    ("slurm-rest", {"cluster_config_accounting": "database", "cluster_config_slurm_rest": REST_VARS,
                    "cluster_config_head_node_security_group_ids": [REST_GROUP]}, "slurm_rest"),
])
def test_the_head_node_variables_pass_the_head_node_roles_checks(run_playbook, zone, label, overrides, role):
    """What the head node gets (as the entry script passes it: -e @vars) passes the role's own preflight checks."""
    run = run_playbook(render_tasks({label: role_vars(zone, **overrides)}))
    assert run.rc == 0, run.stdout[-3000:]
    head = node_vars(run, label)
    assert head["node_job_logs"] is (role == "cloudwatch_logs") and head["node_slurm_rest"] is (role == "slurm_rest")
    assert head["node_accounting"] is (role in ("slurm_accounting", "slurm_rest"))
    if role == "slurm_rest":
        # ParallelCluster's Slurm and, with accounting database, its slurmdbd on the head node; the lifecycle's values.
        assert (head["slurm_rest_conf_dir"], head["slurm_rest_install_packages"], head["slurm_rest_accounting"]) == (
            "/opt/slurm/etc", False, True)
        assert (head["slurm_rest_slurmdbd_service"], head["slurm_rest_slurmdbd_conf_path"]) == (
            "slurmdbd", "/opt/slurm/etc/slurmdbd.conf")
        assert head["slurm_rest_allowed_users"] == ["sim"] and head["slurm_rest_port"] == 6820
        config = rendered(run, label)
        assert {t["Key"]: t["Value"] for t in config["Tags"]}["obi:slurm_rest_port"] == "6820"
        assert config["HeadNode"]["Networking"]["SecurityGroups"] == [zone["security_group_id"], REST_GROUP]
        assert queue_of(config)["Networking"]["SecurityGroups"] == [zone["security_group_id"]]
    elif role == "cloudwatch_logs":
        assert head["cloudwatch_logs_log_group"] == "/obi/hpc/vlab-cc/proj-cc"
        assert head["cloudwatch_logs_create_log_group"] is False  # made from the controller
        assert head["cloudwatch_logs_slurm_conf_path"] == "/opt/slurm/etc/slurm.conf"
    else:
        assert head["slurm_accounting_projects"] == [{"vlab_id": "vlab-cc", "project_id": "proj-cc", "users": ["sim"]}]
        assert (head["slurm_accounting_mode"], head["slurm_accounting_manage_slurmdbd"]) == ("external", False)
        # Database: ParallelCluster's slurmdbd on the head node itself (the role's default, the node's host name).
        assert head.get("slurm_accounting_storage_host") == ("10.0.250.10" if label == "accounting-external" else None)
    checked = run_playbook([{"name": "Preflight", "ansible.builtin.include_role": {
        "name": f"obi.hpc_provisioner.{role}", "tasks_from": "preflight"}}],
        extra_vars=dict(head, slurm_accounting_dbd_host="ip-10-0-0-10", slurm_rest_slurm_version="24.11.5"),
        name="preflight")
    assert checked.rc == 0, checked.stdout[-3000:]
