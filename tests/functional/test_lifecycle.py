"""The lifecycle playbooks (obi.hpc_provisioner.create, describe, list, update, delete) on the emulator over HTTP.

Each runs as `ansible-playbook` would run `obi.hpc_provisioner.<name>` (imported by FQCN) with the site settings of a
landing zone seeded for this module, and hands back its result with set_stats (read from the json callback's
global_custom_stats, as AWX reads artifacts). CloudWatch logs are off: clusters are deleted and made again quickly.
The Lustre variant is only validated (test_cluster_config): the emulator's CloudFormation has no AWS::FSx::FileSystem.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import re
import threading
from collections import Counter

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lifecycle_helpers import claims, collection_copy, lifecycle, orphans, stacks, writes

PREFIX = "lcy"
SUBNETS = 4


@pytest.fixture(scope="module", autouse=True)
def remove_clusters(emulator):
    yield
    cfn = emulator.client("cloudformation")
    for stack in cfn.describe_stacks()["Stacks"]:
        if stack["StackName"].startswith("pcluster-lcy"):
            cfn.delete_stack(StackName=stack["StackName"])


def _rsa_public_key(bits):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


# A valid public key that is too weak (RSA, 1024 bits): refused after parsing, not by its prefix.
RSA_1024 = _rsa_public_key(1024)

NODE_VARS = "hpc_provisioner/node/clusters/pcluster-lcyv-p1/node_vars.yml"
CLUSTER_COLLECTION = "hpc_provisioner/node/clusters/pcluster-lcyv-p1/collection.tar.gz"
NODE_ASSETS_TASK = "Publish what the cluster's nodes read at boot"


def release_pattern(version):
    """A release's key: the version, then the first 16 hex digits of the content's digest."""
    return re.compile(rf"hpc_provisioner/node/obi-hpc_provisioner-{re.escape(version)}-[0-9a-f]{{16}}[.]tar[.]gz")


# The Workflow Service's network, for the REST cases that fail on something else.
REST_ACCESS = {"hpc_slurm_rest_allowed_cidrs": ["10.20.0.0/16"]}

BAD_INPUTS = [
    ({"vlab_id": "Bad_Vlab"}, 'vlab_id: "Bad_Vlab" is not valid: required, lower-case letters'),
    ({"project_id": ""}, 'project_id: "" is not valid: required'),
    ({"project_id": "x" * 37}, "project_id: \"" + "x" * 37 + "\" is not valid"),
    ({"tier": "huge"}, 'tier: "huge" is not valid: one of debug, mixed-prod-mpi, prod-batch'),
    ({"storage": "nfs"}, 'storage: "nfs" is not valid: one of lustre, existing_fsx, efs_only'),
    ({"accounting": "sometimes"}, 'accounting: "sometimes" is not valid: one of database, external, off'),
    ({"wait": "maybe"}, 'wait: "maybe" is not valid: a boolean (true/false, yes/no, 1/0)'),
    ({"benchmark": "perhaps"}, 'benchmark: "perhaps" is not valid: a boolean'),
    ({"benchmark": 2}, 'benchmark: "2" is not valid: a boolean'),
    ({"include_lustre": "kind of"}, 'include_lustre: "kind of" is not valid: a boolean'),
    ({"wait_timeout": "soon"}, 'wait_timeout: "soon" is not valid: a whole number of seconds, at least 1'),
    ({"wait_timeout": -5}, 'wait_timeout: "-5" is not valid: a whole number of seconds, at least 1'),
    ({"sim_pubkey": "not a key"}, 'sim_pubkey: "not a key" is not valid: not a parseable public key'),
    ({"sim_pubkey": "not-a-key"}, 'sim_pubkey: "not-a-key" is not valid: not a parseable public key'),
    ({"sim_pubkey": RSA_1024}, "an RSA key of 1024 bits is too weak; an OpenSSH public key line of type ssh-ed25519"),
    ({"admin_ssh_key_name": "bad key/name"}, 'admin_ssh_key_name: "bad key/name" is not valid: an EC2 key pair name'),
    ({"storage": "existing_fsx", "hpc_existing_fsx_id": ""}, "storage existing_fsx needs hpc_existing_fsx_id"),
    ({"accounting": "external"}, "accounting external needs hpc_external_slurmdbd_host, hpc_munge_key_secret_arn"),
    ({"slurm_rest": "sometimes"}, 'slurm_rest: "sometimes" is not valid: a boolean'),
    ({"slurm_rest": True, **REST_ACCESS}, "slurm_rest needs exactly one: the Keycloak realm's URL, or a JWKS given directly"),
    ({"slurm_rest": True, "hpc_slurm_rest_jwks": {"keys": []}, "hpc_slurm_rest_allowed_cidrs": ["0.0.0.0/0"]},
     "hpc_slurm_rest_allowed_cidrs: '0.0.0.0/0' opens slurmrestd to the whole internet"),
    ({"slurm_rest": True, "hpc_slurm_rest_realm_url": "http://keycloak.example.org/realms/SBO", **REST_ACCESS},
     "hpc_slurm_rest_realm_url: 'http://keycloak.example.org/realms/SBO' must use https"),
    ({"slurm_rest": True, "hpc_slurm_rest_realm_url": "http://127.0.0.1:9/realms/SBO", **REST_ACCESS},
     "hpc_slurm_rest_realm_url: cannot read http://127.0.0.1:9/realms/SBO/.well-known/openid-configuration"),
    ({"slurm_rest": True, "hpc_slurm_rest_jwks": {"keys": [{"kty": "EC", "kid": "e1", "crv": "P-256"}]}, **REST_ACCESS},
     "hpc_slurm_rest_jwks: has no RS256 signing key"),
    ({"hpc_site_tiers": {"debug": {"compute_resources": [{"name": "t3micro", "instance_type": "t3.micro",
                                                          "max_count": -1}]}}}, "MaxCount: Must be greater"),
    # Caught by an AWS read, still before the first write.
    ({"admin_ssh_key_name": "no-such-key"}, 'admin_ssh_key_name: "no-such-key" is not valid: no such key pair'),
    ({"hpc_home_efs_id": "fs-0123456789abcdef0"}, 'hpc_home_efs_id: "fs-0123456789abcdef0" is not valid: no such efs file system'),
    ({"storage": "existing_fsx", "hpc_existing_fsx_id": "fs-0123456789abcdef0"},
     'hpc_existing_fsx_id: "fs-0123456789abcdef0" is not valid: no such fsx file system'),
    ({"accounting": "database", "hpc_database_password_secret_arn":
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!missing-AbCdEf"},
     "hpc_database_password_secret_arn: \"arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!missing-AbCdEf\" "
     "is not valid: no such secret"),
]


@pytest.mark.parametrize("bad, expected", BAD_INPUTS, ids=[next(iter(b)) + str(i) for i, (b, _expected) in enumerate(BAD_INPUTS)])
def test_bad_input_fails_before_any_write(emu, run_playbook, site, zone, bad, expected):
    before = stacks(emu)
    emu.control("DELETE", "requests")
    run = lifecycle(run_playbook, "create", site, **dict({"vlab_id": "lcyv", "project_id": "bad"}, **bad))
    assert run.rc != 0
    error = run.stats_data["error"]
    assert expected in error["message"], error
    assert error["message"].count(" is not valid: ") <= 1, "one message, for the one wrong field"
    assert writes(emu) == 0, emu.requests()
    assert stacks(emu) == before and "pcluster-lcyv-bad" not in claims(emu, zone).values()


def test_create_describe_list_update_delete(emu, run_playbook, site, zone, tmp_path):
    request = {"vlab_id": "lcyv", "project_id": "p1", "accounting": "database"}
    created = lifecycle(run_playbook, "create", site, **request)
    assert created.rc == 0, created.stdout[-4000:]
    stats = created.stats_data
    assert stats["clusterName"] == "pcluster-lcyv-p1" and stats["clusterStatus"] == "CREATE_REQUEST_RECEIVED"
    assert stats["ssh_user"] == "sim" and stats["error"] is None and stats["vlab_id"] == "lcyv"
    assert ":secret:pcluster-lcyv-p1_sim-" in stats["user_private_ssh_key_arn"]
    assert ":secret:pcluster-lcyv-p1-" in stats["admin_private_ssh_key_arn"]
    assert list(claims(emu, zone).values()).count("pcluster-lcyv-p1") == 1

    described = lifecycle(run_playbook, "describe", site, vlab_id="lcyv", project_id="p1")
    assert described.rc == 0, described.stdout[-3000:]
    assert described.stats_data["clusterStatus"] in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE")
    assert described.stats_data["cluster"]["cluster_name"] == "pcluster-lcyv-p1"
    assert described.stats_data["user_private_ssh_key_arn"] == stats["user_private_ssh_key_arn"]

    for of_vlab in ({"vlab_id": "lcyv"}, {}):  # one vlab's clusters, and every cluster (vlab_id is optional)
        listed = lifecycle(run_playbook, "list", site, **of_vlab)
        assert listed.rc == 0, listed.stdout[-3000:]
        assert {"clusterName": "pcluster-lcyv-p1", "vlab_id": "lcyv", "project_id": "p1"}.items() <= \
            next(c for c in listed.stats_data["clusters"] if c["clusterName"] == "pcluster-lcyv-p1").items()

    infra = emu.client("s3")
    node_vars = yaml.safe_load(infra.get_object(Bucket=site["hpc_infra_bucket"], Key=NODE_VARS)["Body"].read())
    sim_key = emu.client("ec2").describe_key_pairs(KeyNames=["pcluster-lcyv-p1_sim"], IncludePublicKey=True)
    assert node_vars["node_bootstrap_sim_pubkey"].split()[:2] == sim_key["KeyPairs"][0]["PublicKey"].split()[:2]
    assert (node_vars["node_bootstrap_vlab_id"], node_vars["node_bootstrap_project_id"]) == ("lcyv", "p1")
    (job_logs,) = emu.client("logs").describe_log_groups(logGroupNamePrefix="/obi/hpc/lcyv/p1")["logGroups"]
    assert job_logs["retentionInDays"] == 90
    assert emu.client("logs").list_tags_log_group(logGroupName="/obi/hpc/lcyv/p1")["tags"]["obp:costcenter:project"] == "p1"
    assets = {o["Key"] for o in infra.list_objects_v2(Bucket=site["hpc_infra_bucket"], Prefix="hpc_provisioner/node/")["Contents"]}
    release = created.results(NODE_ASSETS_TASK)["objects"]["release"]
    assert release_pattern("0.1.0").fullmatch(release)
    assert {"hpc_provisioner/node/on_node_configured.sh", release, CLUSTER_COLLECTION} <= assets

    again = lifecycle(run_playbook, "create", site, wait=True, **request)
    assert again.rc == 0, again.stdout[-3000:]
    assert again.stats_data["clusterStatus"] == "CREATE_COMPLETE" and again.stats_data["headNodeAddress"]
    emu.control("DELETE", "requests")
    unchanged = lifecycle(run_playbook, "create", site, **request)
    assert unchanged.rc == 0 and unchanged.stats_data["clusterStatus"] == "CREATE_COMPLETE", unchanged.stdout[-3000:]
    assert writes(emu) == 0, emu.requests()  # the same request again changes nothing

    # After an upgrade of the collection, a create publishes the new version and gives it to the cluster, and the
    # cluster's configuration (OnNodeConfigured, which pcluster cannot update) stays as it is.
    emu.control("DELETE", "requests")
    upgraded = lifecycle(run_playbook, "create", site, lifecycle_collection_version="0.1.99", **request)
    assert upgraded.rc == 0 and upgraded.stats_data["clusterStatus"] == "CREATE_COMPLETE", upgraded.stdout[-3000:]
    assert not upgraded.results("The cluster")["changed"]
    assert {c["service"] for c in emu.requests()["calls"] if c["kind"] == "write"} == {"s3"}, emu.requests()
    upgrade = upgraded.results(NODE_ASSETS_TASK)["objects"]["release"]
    assert release_pattern("0.1.99").fullmatch(upgrade) and upgrade.endswith(release.removeprefix(
        "hpc_provisioner/node/obi-hpc_provisioner-0.1.0"))  # the same code, another version
    published = infra.head_object(Bucket=site["hpc_infra_bucket"], Key=upgrade)
    given = infra.head_object(Bucket=site["hpc_infra_bucket"], Key=CLUSTER_COLLECTION)
    assert given["ETag"] == published["ETag"]

    # A change of code that keeps the version (here in a copy of the collection, as the controller runs it) is a new
    # release too, given to the cluster the same way: the nodes install what the controller runs.
    copy = collection_copy(tmp_path / "changed" / "ansible_collections" / "obi" / "hpc_provisioner")
    with open(copy / "roles" / "node_bootstrap" / "tasks" / "main.yml", "a", encoding="utf-8") as task_file:
        task_file.write("# changed, version kept\n")
    emu.control("DELETE", "requests")
    recoded = lifecycle(run_playbook, "create", site, lifecycle_collection_root=str(copy), **request)
    assert recoded.rc == 0 and recoded.stats_data["clusterStatus"] == "CREATE_COMPLETE", recoded.stdout[-3000:]
    published_assets = recoded.results(NODE_ASSETS_TASK)
    new_release = published_assets["objects"]["release"]
    assert release_pattern("0.1.0").fullmatch(new_release) and new_release != release
    assert published_assets["actions"] == ["build_release", "put_release", "copy_release"]
    assert not recoded.results("The cluster")["changed"]
    assert {c["service"] for c in emu.requests()["calls"] if c["kind"] == "write"} == {"s3"}, emu.requests()
    given = infra.head_object(Bucket=site["hpc_infra_bucket"], Key=CLUSTER_COLLECTION)
    assert given["ETag"] == infra.head_object(Bucket=site["hpc_infra_bucket"], Key=new_release)["ETag"]

    changed = lifecycle(run_playbook, "update", site, tier="prod-batch", **request)
    assert changed.rc != 0  # a new instance type needs the compute fleet stopped: said, not ignored
    assert changed.stats_data["error"]["task"] == "The cluster"
    assert "compute fleet" in changed.stats_data["error"]["message"].lower()

    missing = lifecycle(run_playbook, "update", site, vlab_id="lcyv", project_id="nope")
    assert missing.rc != 0 and "does not exist" in missing.stats_data["error"]["message"]

    deleted = lifecycle(run_playbook, "delete", site, vlab_id="lcyv", project_id="p1")
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert deleted.stats_data["clusterStatus"] == "DELETE_COMPLETE"
    assert "pcluster-lcyv-p1" not in stacks(emu) and "pcluster-lcyv-p1" not in claims(emu, zone).values()
    names = {k["KeyName"] for k in emu.client("ec2").describe_key_pairs()["KeyPairs"]}
    assert not names & {"pcluster-lcyv-p1", "pcluster-lcyv-p1_sim"}

    assert not emu.client("logs").describe_log_groups(logGroupNamePrefix="/obi/hpc/lcyv/p1")["logGroups"]
    left = infra.list_objects_v2(Bucket=site["hpc_infra_bucket"], Prefix="hpc_provisioner/node/clusters/pcluster-lcyv-p1/")
    assert left["KeyCount"] == 0

    gone = lifecycle(run_playbook, "describe", site, vlab_id="lcyv", project_id="p1")
    assert gone.rc == 0 and gone.stats_data["clusterStatus"] == "NOT_FOUND"


def test_delete_half_created_project_and_again(emu, run_playbook, site, zone):
    """Key pairs and a claim but no cluster (a create that failed at the cluster): delete cleans up, twice."""
    connection = {"endpoint_url": emu.endpoint, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
    half = run_playbook(yaml.safe_dump([{
        "name": "half", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "module_defaults": {"group/obi.hpc_provisioner.aws": connection, "obi.hpc_provisioner.subnet_claim": connection},
        "tasks": [
            {"name": "Key", "obi.hpc_provisioner.vlab_keypair": {"name": "pcluster-lcyv-half"}},
            {"name": "Claim", "obi.hpc_provisioner.subnet_claim": {
                "table": zone["claim_table"], "cluster": "pcluster-lcyv-half",
                "subnet_filters": {"tag:HPC_Goal": "compute_cluster", "tag:landing-zone": PREFIX}}},
        ]}]), name="half")
    assert half.rc == 0, half.stdout[-3000:]
    for attempt in ("first", "second"):
        run = lifecycle(run_playbook, "delete", site, name=f"delete-{attempt}", vlab_id="lcyv", project_id="half")
        assert run.rc == 0, run.stdout[-3000:]
        assert run.stats_data["error"] is None
    assert "pcluster-lcyv-half" not in claims(emu, zone).values()
    assert "pcluster-lcyv-half" not in {k["KeyName"] for k in emu.client("ec2").describe_key_pairs()["KeyPairs"]}


def test_concurrent_creates_one_cluster_per_project(emu, run_playbook, site, zone):
    """Three projects at once plus a duplicate of one: one cluster per project, no subnet held twice."""
    requests = [("r1", "a"), ("r2", "b"), ("r3", "c"), ("r1", "dup")]
    runs = {}

    def create(project, tag):
        runs[tag] = lifecycle(run_playbook, "create", site, name=f"create-{tag}", vlab_id="lcyv", project_id=project)

    threads = [threading.Thread(target=create, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    try:
        held = claims(emu, zone)
        assert max(Counter(held.values()).values()) == 1, held
        for project in ("r1", "r2", "r3"):
            assert list(held.values()).count(f"pcluster-lcyv-{project}") == 1
            assert f"pcluster-lcyv-{project}" in stacks(emu)
        for tag in ("b", "c"):
            assert runs[tag].rc == 0, runs[tag].stdout[-3000:]
        # Of the two runs for r1, one made the cluster and the other joined it: both succeed, with the same keys.
        duplicates = [runs["a"], runs["dup"]]
        for run in duplicates:
            assert run.rc == 0, run.stdout[-3000:]
        assert len({(run.stats_data["clusterName"], run.stats_data["user_private_ssh_key_arn"]) for run in duplicates}) == 1
    finally:
        deletes = {project: lifecycle(run_playbook, "delete", site, name=f"delete-{project}", vlab_id="lcyv",
                                      project_id=project) for project in ("r1", "r2", "r3")}
    for project, run in deletes.items():
        assert run.rc == 0, (project, run.stdout[-3000:])
    assert not {v for v in claims(emu, zone).values() if v.startswith("pcluster-lcyv-r")}


def test_existing_file_system_gets_the_projects_associations(emu, run_playbook, site, zone):
    """storage=existing_fsx: the cluster mounts the shared file system; create adds the project's DRAs, delete removes them."""
    fsx = emu.client("fsx")
    fs_id = fsx.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[zone["service_subnet_ids"][0]["id"]],
        SecurityGroupIds=[zone["security_group_id"]],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250},
        Tags=[{"Key": "Name", "Value": "lcy-shared"}])["FileSystem"]["FileSystemId"]
    request = dict(vlab_id="lcyv", project_id="fsx", storage="existing_fsx", hpc_existing_fsx_id=fs_id)

    def paths():
        described = fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [fs_id]}])
        return sorted(a["FileSystemPath"] for a in described["Associations"] if a["Lifecycle"] != "DELETING")

    try:
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
        assert created.rc == 0, created.stdout[-3000:]
        assert created.stats_data["clusterFsxId"] == fs_id and created.stats_data["clusterStatus"] == "CREATE_COMPLETE"
        described = lifecycle(run_playbook, "describe", site, vlab_id="lcyv", project_id="fsx")
        assert described.stats_data["clusterFsxId"] == fs_id
        assert paths() == ["/lcyv/fsx/project/private", "/lcyv/fsx/scratch"]
    finally:
        deleted = lifecycle(run_playbook, "delete", site, vlab_id="lcyv", project_id="fsx")
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert paths() == [] and "pcluster-lcyv-fsx" not in stacks(emu)


def test_lustre_made_with_the_cluster(emu, run_playbook, site):
    """storage=lustre (the default): the cluster makes its FSx for Lustre file system with the project's three DRAs."""
    request = dict(vlab_id="lcyv", project_id="lus", storage="lustre")
    fsx = emu.client("fsx")
    try:
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
        assert created.rc == 0, created.stdout[-3000:]
        fs_id = created.stats_data["clusterFsxId"]
        (file_system,) = fsx.describe_file_systems(FileSystemIds=[fs_id])["FileSystems"]
        tags = {t["Key"]: t["Value"] for t in file_system["Tags"]}
        assert tags["obp:costcenter:project"] == "lus" and file_system["LustreConfiguration"]["DeploymentType"] == "PERSISTENT_2"
        described = lifecycle(run_playbook, "describe", site, vlab_id="lcyv", project_id="lus")
        assert described.stats_data["clusterFsxId"] == fs_id
        associations = fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [fs_id]}])
        assert {a["FileSystemPath"]: a["DataRepositoryPath"] for a in associations["Associations"]} == {
            "/project/public": f"s3://{site['hpc_public_bucket']}",
            "/project/private": f"s3://{site['hpc_private_bucket']}/lcyv/lus",
            "/scratch": f"s3://{site['hpc_scratch_bucket']}/lcyv/lus"}
    finally:
        deleted = lifecycle(run_playbook, "delete", site, vlab_id="lcyv", project_id="lus")
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert fs_id not in {f["FileSystemId"] for f in fsx.describe_file_systems()["FileSystems"]}
    assert orphans(emu, "lcyv", site["hpc_infra_bucket"]) == []


def test_awx_surveys_match_the_playbooks():
    """The job templates' survey choices are the values the playbooks accept, and every template has a playbook."""
    import json  # pylint: disable=import-outside-toplevel
    from pathlib import Path  # pylint: disable=import-outside-toplevel

    root = Path(__file__).resolve().parents[2]
    templates = {t["name"]: t for t in json.loads((root / "awx" / "job_templates.json").read_text())["job_templates"]}
    tiers = yaml.safe_load((root / "roles" / "cluster_config" / "defaults" / "main.yml").read_text())["cluster_config_tiers"]
    assert set(templates) == {"hpc-create", "hpc-describe", "hpc-list", "hpc-update", "hpc-delete", "hpc-health",
                              "hpc-job-submit", "hpc-job-status", "hpc-job-cancel", "hpc-data-upload",
                              "hpc-data-download", "hpc-data-list", "hpc-data-delete"}
    for template in templates.values():
        assert (root / template["playbook"]).is_file()
        assert template["survey_enabled"] and template["ask_variables_on_launch"]
    questions = {q["variable"]: q for q in templates["hpc-create"]["related"]["survey_spec"]["spec"]}
    assert questions["tier"]["choices"] == list(tiers)
    assert questions["storage"]["choices"] == ["lustre", "existing_fsx", "efs_only"]
    assert questions["accounting"]["choices"] == ["database", "external", "off"]
    assert {next(iter(bad)) for bad, _expected in BAD_INPUTS} >= set(questions)  # every survey field has a bad-input test
