"""vlab_keypair and vlab_keypair_info through ansible-playbook against the emulator over HTTP.

Each test uses its own key names (the emulator is shared by the session). The emulator's request log
tells mutating calls (writes) from reads; the emu fixture resets it, and throttling, around each test.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import uuid

import pytest
from cryptography.hazmat.primitives import serialization

REGION = "us-east-1"
SECRET_PREFIX = "/obi/hpc_provisioner/keypairs/"
PROJECT_TAGS = {"obp:costcenter:vlabid": "vlab-it", "obp:costcenter:project": "proj-it", "SBO_Billing": "hpc:parallelcluster"}


@pytest.fixture
def play(emu, run_playbook):  # pylint: disable=unused-argument  # emu: faults and request log reset per test
    """Run tasks against the emulator: run_playbook sets the connection as group/obi.hpc_provisioner.aws defaults."""
    return run_playbook


def unique(prefix="it"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def keypair(name, title="keypair", **options):
    return {"name": title, "obi.hpc_provisioner.vlab_keypair": dict(name=name, **options)}


def key_pair_of(emu, name):
    found = emu.client("ec2").describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}], IncludePublicKey=True)
    return next(iter(found["KeyPairs"]), None)


def public_key_of(private_key):
    key = serialization.load_ssh_private_key(private_key.encode(), None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def same_key(first, second):
    return first.split()[:2] == second.split()[:2]


def everything(emu):
    """All key pair, secret (deleted ones too) and parameter names: to prove that nothing was created."""
    secrets = emu.client("secretsmanager").get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
    parameters = emu.client("ssm").get_paginator("describe_parameters").paginate()
    return (sorted(k["KeyName"] for k in emu.client("ec2").describe_key_pairs()["KeyPairs"]),
            sorted(s["Name"] for page in secrets for s in page["SecretList"]),
            sorted(p["Name"] for page in parameters for p in page["Parameters"]))


def writes(emu):
    return [(c["service"], c["operation"]) for c in emu.requests()["calls"] if c["kind"] == "write"]


def ok(run):
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run


# ------------------------------------------------------------------------------------------- lifecycle

def test_create_rerun_delete_and_recreate_at_once(emu, play):
    name = unique("pcluster")
    first = ok(play([keypair(name, tags=PROJECT_TAGS)])).results("keypair")
    assert first["changed"] and first["actions"] == ["create_key_pair", "create_secret"]
    pair, secret = first["key_pair"], first["secret"]
    assert pair["key_name"] == name and pair["key_type"] == "ed25519" and pair["public_key"].startswith("ssh-ed25519 ")
    assert pair["key_pair_id"] and pair["key_fingerprint"]
    assert secret["name"] == name and secret["arn"].startswith("arn:aws:secretsmanager:")
    for tags in (pair["tags"], secret["tags"]):
        assert PROJECT_TAGS.items() <= tags.items()
    stored = emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert same_key(public_key_of(stored), pair["public_key"])
    assert same_key(key_pair_of(emu, name)["PublicKey"], pair["public_key"])

    emu.control("DELETE", "requests")
    again = ok(play([keypair(name, tags=PROJECT_TAGS)])).results("keypair")
    assert not again["changed"] and again["key_pair"] == pair and again["secret"] == secret
    assert writes(emu) == [] and emu.requests()["reads"] > 0

    emu.control("DELETE", "requests")
    cycle = ok(play([keypair(name, "delete", state="absent"), keypair(name, "create again", tags=PROJECT_TAGS),
                     keypair(name, "delete again", state="absent"), keypair(name, "delete once more", state="absent")]))
    assert cycle.results("delete")["actions"] == ["delete_key_pair", "delete_secret"]
    recreated = cycle.results("create again")
    assert recreated["actions"] == ["create_key_pair", "create_secret"]  # the name was free at once
    assert recreated["secret"]["arn"] != secret["arn"] and recreated["key_pair"]["public_key"] != pair["public_key"]
    assert not cycle.results("delete once more")["changed"]
    assert ("secretsmanager", "DeleteSecret") in writes(emu)
    assert key_pair_of(emu, name) is None and name not in everything(emu)[1]


def test_check_mode_makes_no_write(emu, play):
    name = unique()
    before = everything(emu)
    created = ok(play([keypair(name, tags={"a": "1"})], check=True, diff=True)).results("keypair")
    assert created["changed"] and created["actions"] == ["create_key_pair", "create_secret"]
    assert created["diff"]["before"] == {"key_pair": {"exists": False}, "secret": {"exists": False}}
    assert writes(emu) == [] and everything(emu) == before

    ok(play([keypair(name, tags={"a": "1"})]))
    emu.control("DELETE", "requests")
    retagged = ok(play([keypair(name, tags={"a": "2"})], check=True, diff=True)).results("keypair")
    assert retagged["actions"] == ["update_key_pair_tags", "update_secret_tags"]
    assert retagged["diff"]["after"]["key_pair"]["tags"]["a"] == "2" and writes(emu) == []
    assert {"Key": "a", "Value": "1"} in key_pair_of(emu, name)["Tags"]


# ------------------------------------------------------------------------------------------- half states

def test_key_pair_without_its_private_key_fails_then_recreate_repairs(emu, play):
    name = unique()
    emu.client("ec2").create_key_pair(KeyName=name, KeyType="ed25519")
    emu.control("DELETE", "requests")
    failed = play([keypair(name)])
    assert failed.rc != 0
    result = failed.results("keypair")
    assert result["failed"] and result["half_state"] == "key_pair_without_secret"
    assert f"key pair '{name}' exists but its private key was never stored" in result["msg"]
    assert "Set recreate=true" in result["msg"]
    assert writes(emu) == []

    repaired = ok(play([keypair(name, recreate=True)])).results("keypair")
    assert repaired["actions"] == ["delete_key_pair", "create_key_pair", "create_secret"]
    stored = emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert same_key(public_key_of(stored), key_pair_of(emu, name)["PublicKey"])


def test_secret_without_key_pair_is_repaired_by_importing_its_public_key(emu, play):
    name = unique()
    ec2 = emu.client("ec2")
    private_key = ec2.create_key_pair(KeyName=name, KeyType="ed25519")["KeyMaterial"]
    emu.client("secretsmanager").create_secret(Name=name, SecretString=private_key)
    ec2.delete_key_pair(KeyName=name)
    emu.control("DELETE", "requests")
    result = ok(play([keypair(name)])).results("keypair")
    assert result["actions"] == ["import_key_pair", "update_secret_tags"]
    assert ("ec2", "ImportKeyPair") in writes(emu) and ("ec2", "CreateKeyPair") not in writes(emu)
    assert same_key(result["key_pair"]["public_key"], public_key_of(private_key))  # the stored key still works
    assert emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] == private_key
    emu.control("DELETE", "requests")
    assert not ok(play([keypair(name)])).results("keypair")["changed"] and writes(emu) == []


def test_secret_scheduled_for_deletion_is_restored(emu, play):
    name = unique()
    ok(play([keypair(name)]))
    emu.client("secretsmanager").delete_secret(SecretId=name, RecoveryWindowInDays=7)
    result = ok(play([keypair(name)])).results("keypair")
    assert result["actions"] == ["restore_secret"] and result["secret"]["deleted_date"] is None
    assert "DeletedDate" not in emu.client("secretsmanager").describe_secret(SecretId=name)


# ------------------------------------------------------------------------------------------- SSM

def test_ssm_store(emu, play):
    name = unique()
    parameter = SECRET_PREFIX + name
    created = ok(play([keypair(name, secret_store="ssm", tags=PROJECT_TAGS)])).results("keypair")
    assert created["secret"]["store"] == "ssm" and created["secret"]["name"] == parameter
    assert created["key_pair"]["tags"]["obi:hpc_provisioner:secret_name"] == parameter
    stored = emu.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert same_key(public_key_of(stored["Value"]), created["key_pair"]["public_key"])

    emu.control("DELETE", "requests")
    assert not ok(play([keypair(name, secret_store="ssm", tags=PROJECT_TAGS)])).results("keypair")["changed"]
    assert writes(emu) == []

    cycle = ok(play([keypair(name, "delete", secret_store="ssm", state="absent"),
                     keypair(name, "create again", secret_store="ssm")]))
    assert cycle.results("delete")["actions"] == ["delete_key_pair", "delete_secret"]
    assert cycle.results("create again")["actions"] == ["create_key_pair", "create_secret"]


# ------------------------------------------------------------------------------------------- bad input

BAD_INPUT = [
    ({"name": ""}, "name: must not be empty"),
    ({"name": "k" * 256}, "name: must be at most 255 characters, got 256"),
    ({"name": "bad name!"}, "name: 'bad name!' has characters that are not allowed"),
    ({"name": "pcluster-*"}, "name: 'pcluster-*' has characters that are not allowed"),
    ({"name": "bad-key-type", "key_type": "dsa"}, "value of key_type must be one of: ed25519, rsa, got: dsa"),
    ({"name": "bad-store", "secret_store": "vault"}, "value of secret_store must be one of: secretsmanager, ssm, got: vault"),
    ({"name": "bad-secret", "secret_name": "with space"}, "secret_name: 'with space' is not allowed"),
    ({"name": "bad-ssm", "secret_store": "ssm", "secret_name": "/ssm/x"}, "cannot start with 'aws' or 'ssm'"),
    ({"name": "bad-tag", "tags": {"aws:owner": "x"}}, "tags: key 'aws:owner' is not allowed"),
    ({"name": "long-desc", "description": "d" * 2049}, "description: must have 1 to 2048 characters, got 2049"),
]


def test_bad_input_is_refused_naming_the_field_and_creates_nothing(emu, play):
    before = everything(emu)
    emu.control("DELETE", "requests")
    tasks = [dict(keypair(**case[0], title=f"bad {index}"), ignore_errors=True) for index, case in enumerate(BAD_INPUT)]
    tasks.append({"name": "bad info", "obi.hpc_provisioner.vlab_keypair_info": {"names": ["a b"]}, "ignore_errors": True})
    run = play(tasks)
    for index, (_args, fragment) in enumerate(BAD_INPUT):
        result = run.results(f"bad {index}")
        assert result["failed"] and fragment in result["msg"], (fragment, result["msg"])
    assert "names[0]: 'a b' has characters that are not allowed" in run.results("bad info")["msg"]
    assert emu.requests()["calls"] == [] and everything(emu) == before


# ------------------------------------------------------------------------------------------- info module

def test_info_finds_a_projects_key_pairs_and_the_delete_flow_removes_them(emu, play):
    vlab, project = unique("vlab"), unique("proj")
    tags = {"obp:costcenter:vlabid": vlab, "obp:costcenter:project": project}
    admin, sim, other = f"pcluster-{vlab}-{project}", f"pcluster-{vlab}-{project}_sim", f"pcluster-{vlab}-x"
    info = {"name": "info", "obi.hpc_provisioner.vlab_keypair_info": {"tags": tags}, "register": "keys"}
    run = ok(play([
        keypair(sim, "sim", tags=tags, secret_store="ssm"),
        keypair(admin, "admin", tags=tags),
        keypair(other, "other", tags={"obp:costcenter:vlabid": vlab, "obp:costcenter:project": "x"}),
        info,
        {"name": "delete flow", "loop": "{{ keys.key_pairs }}", "obi.hpc_provisioner.vlab_keypair": {
            "name": "{{ item.key_name }}", "secret_store": "{{ item.secret.store }}",
            "secret_name": "{{ item.secret.name }}", "state": "absent"}},
        dict(info, name="info after"),
    ]))
    found = run.results("info")
    assert [k["key_name"] for k in found["key_pairs"]] == [admin, sim]
    assert [k["secret"]["store"] for k in found["key_pairs"]] == ["secretsmanager", "ssm"]
    assert all(k["secret"]["exists"] for k in found["key_pairs"]) and found["orphan_secrets"] == []
    assert run.results("info after")["key_pairs"] == [] and run.results("info after")["orphan_secrets"] == []
    assert key_pair_of(emu, admin) is None and key_pair_of(emu, sim) is None and key_pair_of(emu, other)


def test_info_reports_secrets_left_without_key_pair(emu, play):
    vlab = unique("vlab")
    tags = {"obp:costcenter:vlabid": vlab}
    name = f"pcluster-{vlab}-p"
    ok(play([keypair(name, tags=tags)]))
    emu.client("ec2").delete_key_pair(KeyName=name)
    result = ok(play([{"name": "info", "obi.hpc_provisioner.vlab_keypair_info": {"tags": tags}}])).results("info")
    assert result["key_pairs"] == []
    assert [(o["store"], o["name"], o["key_name"]) for o in result["orphan_secrets"]] == [("secretsmanager", name, name)]


# ------------------------------------------------------------------------------------------- secrecy

def test_no_private_key_anywhere_in_the_output_at_vvv(emu, play):
    name, ssm_name, orphan = unique(), unique(), unique()
    ec2 = emu.client("ec2")
    orphan_key = ec2.create_key_pair(KeyName=orphan, KeyType="ed25519")["KeyMaterial"]
    emu.client("secretsmanager").create_secret(Name=orphan, SecretString=orphan_key)
    ec2.delete_key_pair(KeyName=orphan)
    ec2.create_key_pair(KeyName=name + "-lost", KeyType="ed25519")
    run = play([
        keypair(name, "create", tags=PROJECT_TAGS),
        keypair(name, "rerun", tags={"changed": "tags"}),
        keypair(ssm_name, "ssm", secret_store="ssm"),
        keypair(orphan, "repair by import"),
        dict(keypair(name + "-lost", "half state"), ignore_errors=True),
        {"name": "info", "obi.hpc_provisioner.vlab_keypair_info": {"names": [name, ssm_name, orphan]}},
        dict(keypair(name, "dangerous", return_private_key=True), no_log=True, register="dangerous"),
        {"name": "the dangerous option works", "ansible.builtin.assert": {
            "that": ["dangerous.private_key is match('-----BEGIN OPENSSH')"], "quiet": True}},
        keypair(name, "delete", state="absent"),
    ], verbosity=3, diff=True)
    output = run.stdout + run.stderr
    assert run.rc == 0 and run.stats["ignored"] == 1, output[-3000:]  # only the half state failed
    assert run.results("the dangerous option works").get("failed") is not True
    assert run.results("dangerous")["censored"]
    assert "PRIVATE KEY" not in output
    ssm_key = emu.client("ssm").get_parameter(Name=SECRET_PREFIX + ssm_name, WithDecryption=True)["Parameter"]["Value"]
    for private_key in (orphan_key, ssm_key):
        assert all(line not in output for line in private_key.splitlines()[1:-1])
    # It was -vvv output indeed: Ansible's for a module process, or the in-process action's (plugin_utils/in_process.py).
    assert "ESTABLISH LOCAL CONNECTION" in output or "RUN IN PROCESS: obi.hpc_provisioner.vlab_keypair " in output


def test_return_private_key_without_no_log_is_the_callers_explicit_choice(emu, play):
    name = unique()
    # The key is printed on purpose: the run is left out of the suites' secret scan (scripts/scan_secrets.py).
    run = ok(play([keypair(name, return_private_key=True)], kept=False))
    result = run.results("keypair")
    assert result["private_key"] == emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert "PRIVATE KEY" in run.stdout  # what the scan above looks for is there when the caller asks for it


# ------------------------------------------------------------------------------------------- throttling

def test_converges_under_30_percent_throttling(emu, play):
    name, ssm_name = unique(), unique()
    emu.control("POST", "faults/throttle", {"service": "*", "fraction": 0.3})
    run = play([
        keypair(name, "create", tags=PROJECT_TAGS),
        keypair(ssm_name, "create ssm", secret_store="ssm", tags=PROJECT_TAGS),
        keypair(name, "rerun", tags=PROJECT_TAGS),
        keypair(ssm_name, "rerun ssm", secret_store="ssm", tags=PROJECT_TAGS),
        {"name": "info", "obi.hpc_provisioner.vlab_keypair_info": {"names": [name, ssm_name]}},
        keypair(ssm_name, "delete ssm", secret_store="ssm", state="absent"),
    ])
    emu.control("DELETE", "faults")
    ok(run)
    assert run.results("create")["changed"] and not run.results("rerun")["changed"]
    assert not run.results("rerun ssm")["changed"]
    assert len(run.results("info")["key_pairs"]) == 2
    stored = emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert same_key(public_key_of(stored), key_pair_of(emu, name)["PublicKey"])
    assert key_pair_of(emu, ssm_name) is None
