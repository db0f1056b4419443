"""Bad-input catalogue of the modules and roles: each case fails with a message naming the field (and the allowed values),
and the whole catalogue leaves the emulator as it found it (no mutating call, no new resource).

The playbooks' catalogue is in tests/functional/test_lifecycle.py (every survey field, checked the same way).
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest

from lifecycle_helpers import inventory, writes

PREFIX = "bad"
SUBNETS = 2
CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port
SCHEMA_ERROR_CONFIG = {  # all good but MaxCount
    "Region": "us-east-1", "Image": {"Os": "alinux2023"},
    "HeadNode": {"InstanceType": "t3.medium", "Networking": {"SubnetId": "subnet-0123456789abcdef0"}, "Ssh": {"KeyName": "k"}},
    "Scheduling": {"Scheduler": "slurm", "SlurmQueues": [{
        "Name": "q", "Networking": {"SubnetIds": ["subnet-0123456789abcdef0"]},
        "ComputeResources": [{"Name": "c", "InstanceType": "t3.micro", "MaxCount": -1}]}]},
}


def cases(zone, fs_id):
    """(label, module, arguments, expected text) of each bad input."""
    dra = {"file_system_id": fs_id, "data_repository_path": f"s3://{zone['buckets']['scratch']}/bad/"}
    claim = {"table": zone["claim_table"], "cluster": "pcluster-bad-claim",
             "subnet_filters": {"tag:HPC_Goal": "compute_cluster", "tag:landing-zone": PREFIX}}
    return [
        ("key name empty", "vlab_keypair", {"name": ""}, "name: must not be empty"),
        ("key name bad characters", "vlab_keypair", {"name": "bad/name"}, "name: 'bad/name' has characters that are not allowed"),
        ("key name too long", "vlab_keypair", {"name": "k" * 256}, "name: must be at most 255 characters"),
        ("key secret store unknown", "vlab_keypair", {"name": "k1", "secret_store": "vault"},
         "value of secret_store must be one of: secretsmanager, ssm"),
        ("key type unknown", "vlab_keypair", {"name": "k1", "key_type": "dsa"}, "value of key_type must be one of: ed25519, rsa"),
        ("key tag aws prefix", "vlab_keypair", {"name": "k1", "tags": {"aws:owner": "x"}}, "tags: key 'aws:owner' is not allowed"),
        ("key tag key too long", "vlab_keypair", {"name": "k1", "tags": {"k" * 129: "x"}}, "must have 1 to 128 characters"),
        ("key wrong type of tags", "vlab_keypair", {"name": "k1", "tags": ["owner"]}, "argument 'tags' is of type"),
        ("key state unknown", "vlab_keypair", {"name": "k1", "state": "gone"}, "value of state must be one of: present, absent"),
        ("key unreachable endpoint", "vlab_keypair", {"name": "k1", "endpoint_url": CLOSED}, "Could not connect to the endpoint URL"),
        ("key info unreachable endpoint", "vlab_keypair_info", {"names": ["k1"], "endpoint_url": CLOSED},
         "Could not connect to the endpoint URL"),
        ("dra file system id malformed", "fsx_dra", dict(dra, file_system_id="fs-xyz", file_system_path="/p"),
         "file_system_id: 'fs-xyz' is not a file system id"),
        ("dra file system missing", "fsx_dra", dict(dra, file_system_id="fs-0123456789abcdef0", file_system_path="/p"),
         "file_system_id: no FSx file system fs-0123456789abcdef0"),
        ("dra path relative", "fsx_dra", dict(dra, file_system_path="project/x"), "is not absolute"),
        ("dra path dot segment", "fsx_dra", dict(dra, file_system_path="/project/../x"), "'.' or '..' path segments"),
        ("dra path empty segment", "fsx_dra", dict(dra, file_system_path="/project//x"), "empty path segment"),
        ("dra path nested in an association", "fsx_dra", dict(dra, file_system_path="/taken/inner"), "file_system_path: /taken/inner is inside /taken"),
        ("dra path holding an association", "fsx_dra", dict(dra, file_system_path="/"), "file_system_path: / contains /taken"),
        ("dra path duplicate", "fsx_dra", dict(dra, file_system_path="/taken",
                                               data_repository_path=f"s3://{zone['buckets']['public']}/other/"),
         "already links /taken to s3://"),
        ("dra s3 path not s3", "fsx_dra", dict(dra, file_system_path="/p", data_repository_path="https://bucket/x"),
         "is not an S3 URI"),
        ("dra import policy unknown", "fsx_dra", dict(dra, file_system_path="/p", auto_import_policy=["SOMETIMES"]),
         "value of auto_import_policy must be one or more of: NEW, CHANGED, DELETED"),
        ("dra chunk size out of range", "fsx_dra", dict(dra, file_system_path="/p", imported_file_chunk_size=0),
         "imported_file_chunk_size: must be between"),
        ("dra tag aws prefix", "fsx_dra", dict(dra, file_system_path="/p", tags={"aws:x": "y"}),
         "tags: key 'aws:x' is not allowed: the prefix 'aws:' is reserved by AWS"),
        ("dra info unreachable endpoint", "fsx_dra_info", {"file_system_id": fs_id, "endpoint_url": CLOSED},
         "Could not connect to the endpoint URL"),
        ("cluster name bad characters", "pcluster_cluster", {"name": "Bad_Name", "config": SCHEMA_ERROR_CONFIG},
         "name: 'Bad_Name' is not a valid cluster name"),
        ("cluster name too long", "pcluster_cluster", {"name": "c" * 61, "config": SCHEMA_ERROR_CONFIG}, "a cluster name can have at most 60"),
        ("cluster config schema", "pcluster_cluster", {"name": "pcluster-bad-schema", "config": SCHEMA_ERROR_CONFIG},
         "MaxCount: Must be greater than or equal to 1"),
        ("cluster config missing", "pcluster_cluster", {"name": "pcluster-bad-none"}, "missing: config, config_file"),
        ("cluster config wrong type", "pcluster_cluster", {"name": "pcluster-bad-type", "config": ["not", "a", "dict"]},
         "argument 'config' is of type list"),
        ("cluster wait timeout not a number", "pcluster_cluster", {"name": "pcluster-bad-w", "config": SCHEMA_ERROR_CONFIG,
                                                                   "wait_timeout": "soon"}, "argument 'wait_timeout' is of type str"),
        ("cluster state unknown", "pcluster_cluster", {"name": "pcluster-bad-s", "state": "paused"},
         "value of state must be one of"),
        ("cluster info unreachable endpoint", "pcluster_cluster_info", {"name": "pcluster-bad-x", "endpoint_url": CLOSED},
         "Could not connect to the endpoint URL"),
        ("claim table missing", "subnet_claim", dict(claim, table="no-such-claims"), "in no-such-claims: "),
        ("claim foreign subnet", "subnet_claim", dict(claim, subnet_ids=["subnet-0123456789abcdef0"]),
         "The subnet ID 'subnet-0123456789abcdef0' does not exist"),
        ("claim instance type nowhere", "subnet_claim", dict(claim, instance_types=["x9.mega"]),
         "instance types not offered in any availability zone of the region: x9.mega"),
        ("claim cluster name empty", "subnet_claim", dict(claim, cluster=""), "cluster and table must not be empty"),
        ("claim state unknown", "subnet_claim", dict(claim, state="held"), "value of state must be one of: present, absent"),
    ]


SIM_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb sim"
NODE = {"node_bootstrap_cluster_name": "pcluster-v-p", "node_bootstrap_vlab_id": "v", "node_bootstrap_project_id": "p",
        "node_bootstrap_sim_pubkey": SIM_KEY}
# A failed task's message; for a failed loop, each failed item's too.
CAUGHT = ("{{ ([ansible_failed_result.msg] + (ansible_failed_result.results | default([]) | selectattr('failed', 'defined')"
          " | selectattr('failed') | map(attribute='msg') | list)) | join(': ') }}")
ACCOUNTING = {"slurm_accounting_cluster_name": "pcluster-v-p", "slurm_accounting_db_host": "db.internal"}


def role_cases(zone):
    """(label, role, entry point, variables, expected text): each entry point only checks before it changes anything
    (cluster_config renders on the controller; the others' preflight task files assert only)."""
    config = {"cluster_config_vlab_id": "v", "cluster_config_project_id": "p", "cluster_config_subnet_id": "subnet-0a0a0a0a",
              "cluster_config_security_group_ids": ["sg-0a0a0a0a"], "cluster_config_home_efs_id": "fs-0a0a0a0a",
              "cluster_config_ami_id": "ami-0a0a0a0a", "cluster_config_public_bucket": zone["buckets"]["public"],
              "cluster_config_private_bucket": zone["buckets"]["private"], "cluster_config_scratch_bucket": zone["buckets"]["scratch"]}
    return [
        ("config tier unknown", "cluster_config", "main", dict(config, cluster_config_tier="huge"),
         'cluster_config: cluster_config_tier: "huge" is not valid: one of debug, prod-mpi'),
        ("config storage unknown", "cluster_config", "main", dict(config, cluster_config_storage="nfs"),
         "value of cluster_config_storage must be one of: lustre, existing_fsx, efs_only, got: nfs"),
        ("config accounting without secret", "cluster_config", "main", dict(config, cluster_config_accounting="database"),
         'cluster_config_accounting: "database" is not valid: database with uri/user/password secret ARN'),
        ("node project id missing", "node_bootstrap", "preflight", dict(NODE, node_bootstrap_project_id=""),
         "node_bootstrap_project_id ('') are"),
        ("node sim uid a system id", "node_bootstrap", "preflight", dict(NODE, node_bootstrap_sim_uid=999),
         "must be at least 1000"),
        ("node sim key of another type", "node_bootstrap", "preflight",
         dict(NODE, node_bootstrap_sim_pubkey="ssh-dss AAAAB3NzaC1kc3M sim"), "node_bootstrap_sim_pubkey must be one public key line"),
        ("node s3 mount relative", "node_bootstrap", "preflight",
         dict(NODE, node_bootstrap_s3_mounts=[{"bucket": "b", "path": "data"}]), "each entry of node_bootstrap_s3_mounts needs"),
        ("accounting mode unknown", "slurm_accounting", "preflight", dict(ACCOUNTING, slurm_accounting_mode="cloud"),
         "slurm_accounting_mode must be head_node or external, got 'cloud'"),
        ("accounting cluster name too long", "slurm_accounting", "preflight",
         dict(ACCOUNTING, slurm_accounting_cluster_name="pcluster-" + "v" * 20 + "-" + "p" * 20),
         "a Slurm cluster name of 1 to 40 letters"),
        ("logs retention not offered", "cloudwatch_logs", "log_group",
         {"cloudwatch_logs_vlab_id": "v", "cloudwatch_logs_project_id": "p", "cloudwatch_logs_retention_days": 1096},
         "value of cloudwatch_logs_retention_days must be one of: 1, 3, 5,"),
        ("logs agent url not https", "cloudwatch_logs", "preflight",
         {"cloudwatch_logs_cluster_name": "pcluster-v-p", "cloudwatch_logs_vlab_id": "v", "cloudwatch_logs_project_id": "p",
          "cloudwatch_logs_agent_package_url": "ftp://mirror/agent.deb"}, "cloudwatch_logs_agent_package_url must be empty"),
    ]


@pytest.fixture(scope="module")
def file_system(emulator, zone):
    """A file system with an association at /taken, for the nesting and duplicate cases."""
    fsx = emulator.client("fsx")
    fs_id = fsx.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[zone["service_subnet_ids"][0]["id"]],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250})["FileSystem"]["FileSystemId"]
    fsx.create_data_repository_association(FileSystemId=fs_id, FileSystemPath="/taken",
                                           DataRepositoryPath=f"s3://{zone['buckets']['public']}/taken/")
    return fs_id


def test_every_bad_input_fails_naming_the_field_and_changes_nothing(emu, run_playbook, zone, file_system):
    catalogue = cases(zone, file_system)
    before = inventory(emu)
    emu.control("DELETE", "requests")
    roles = role_cases(zone)
    assert len(catalogue) + len(roles) >= 40
    tasks = [{"name": label, f"obi.hpc_provisioner.{module}": arguments, "ignore_errors": True}
             for label, module, arguments, _expected in catalogue]
    tasks += [{"name": label, "block": [{"ansible.builtin.include_role": {"name": f"obi.hpc_provisioner.{role}", "tasks_from": entry},
                                         "vars": variables}],
               "rescue": [{"name": f"{label}: error", "ansible.builtin.set_fact": {"caught": CAUGHT}}]}
              for label, role, entry, variables, _expected in roles]
    run = run_playbook(tasks)
    unexpected = []
    for label, _module, _arguments, expected in catalogue:
        result = run.results(label)
        if not result.get("failed") or expected not in result.get("msg", ""):
            unexpected.append(f"{label}: {result.get('msg', result)!r}")
    for label, _role, _entry, _variables, expected in roles:
        try:
            caught = run.results(f"{label}: error")["ansible_facts"]["caught"]
        except KeyError:
            caught = "<did not fail>"
        if expected not in caught:
            unexpected.append(f"{label}: {caught!r}")
    assert not unexpected, "\n".join(unexpected)
    assert writes(emu) == 0, emu.requests()
    assert inventory(emu) == before
