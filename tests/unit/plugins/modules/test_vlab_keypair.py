"""Unit tests of vlab_keypair and vlab_keypair_info: each module's main() against moto in-process (mock_aws).

Every AWS call is recorded (service, operation) by wrapping botocore's BaseClient._make_api_call, so that the
tests can say "no mutating call", and selected operations can be made to fail with a given error code.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto import mock_aws

from ansible.module_utils.testing import patch_module_args

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api
from ansible_collections.obi.hpc_provisioner.plugins.modules import vlab_keypair
from ansible_collections.obi.hpc_provisioner.plugins.modules import vlab_keypair_info

REGION = "us-east-1"
READ_PREFIXES = ("Describe", "Get", "List")
CONNECTION = {"region": REGION, "access_key": "testing", "secret_key": "testing"}


class Aws:
    """moto in-process: boto3 clients for the test's own set-up, the module's call log and injected failures."""

    def __init__(self):
        self.calls = []
        self.failures = {}  # operation -> list of error codes, raised one per call, in order
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.sm = boto3.client("secretsmanager", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)

    def writes(self):
        return [operation for _service, operation in self.calls if not operation.startswith(READ_PREFIXES)]

    def fail(self, operation, *codes):
        self.failures[operation] = list(codes)

    def key_pair(self, name):
        found = self.ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}], IncludePublicKey=True)
        return next(iter(found["KeyPairs"]), None)

    def secret_value(self, name):
        return self.sm.get_secret_value(SecretId=name)["SecretString"]

    def everything(self):
        """Names of all key pairs, secrets (deleted ones too) and parameters: to prove nothing was created."""
        return (sorted(k["KeyName"] for k in self.ec2.describe_key_pairs()["KeyPairs"]),
                sorted(s["Name"] for s in self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]),
                sorted(p["Name"] for p in self.ssm.describe_parameters()["Parameters"]))


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        state = Aws()
        original = BaseClient._make_api_call

        def recording(client, operation, params):
            state.calls.append((client.meta.service_model.service_name, operation))
            codes = state.failures.get(operation)
            if codes:
                code = codes.pop(0)
                raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)
        yield state


@pytest.fixture
def run(aws, capsys):
    """Run a module's main() with these arguments; returns its JSON result. Resets the call log first."""

    def run_module(module=vlab_keypair, check_mode=False, diff=False, **args):
        aws.calls.clear()
        args = dict(CONNECTION, _ansible_check_mode=check_mode, _ansible_diff=diff, **args)
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        assert "PRIVATE KEY" not in out or args.get("return_private_key")
        return json.loads(out)

    return run_module


def public_of(private_key):
    return kp.inspect_private_key(private_key)["public_key"]


def make_secret_only(aws, name, key_type="ed25519", tags=None):
    """The half state 'secret without key pair': a real key pair's private key in a secret, the pair deleted."""
    private_key = aws.ec2.create_key_pair(KeyName=name, KeyType=key_type)["KeyMaterial"]
    aws.ec2.delete_key_pair(KeyName=name)
    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {}).items()]
    aws.sm.create_secret(Name=name, SecretString=private_key, Tags=tag_list)
    return private_key


TAGS = {"obp:costcenter:vlabid": "v1", "obp:costcenter:project": "p1", "SBO_Billing": "hpc:parallelcluster"}


# ------------------------------------------------------------------------------------------- create and re-run

def test_create_stores_the_private_key_of_the_new_key_pair(aws, run):
    result = run(name="pcluster-v1-p1", tags=TAGS)
    assert result["changed"] and result["actions"] == ["create_key_pair", "create_secret"]
    pair = result["key_pair"]
    assert pair["key_type"] == "ed25519" and pair["key_pair_id"].startswith("key-")
    assert pair["public_key"].startswith("ssh-ed25519 ")
    assert pair["tags"] == dict(TAGS, **{kp.TAG_SECRET_STORE: "secretsmanager", kp.TAG_SECRET_NAME: "pcluster-v1-p1"})
    secret = result["secret"]
    assert secret["store"] == "secretsmanager" and secret["name"] == "pcluster-v1-p1"
    assert secret["arn"].startswith("arn:aws:secretsmanager:") and secret["tags"] == dict(TAGS, **{kp.TAG_KEY_PAIR: "pcluster-v1-p1"})
    assert secret["description"] == "SSH private key of EC2 key pair pcluster-v1-p1"
    stored = aws.secret_value("pcluster-v1-p1")
    assert stored.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert kp.same_public_key(public_of(stored), pair["public_key"])
    assert "private_key" not in result


def test_rerun_changes_nothing_and_makes_no_mutating_call(aws, run):
    run(name="k1", tags=TAGS)
    result = run(name="k1", tags=TAGS)
    assert not result["changed"] and result["actions"] == []
    assert aws.writes() == []
    assert ("secretsmanager", "GetSecretValue") in aws.calls  # the halves were checked against each other


def test_rsa_key_type(aws, run):
    result = run(name="k-rsa", key_type="rsa")
    assert result["key_pair"]["key_type"] == "rsa"
    assert aws.secret_value("k-rsa").startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert not run(name="k-rsa", key_type="rsa")["changed"]


def test_custom_secret_name_description_and_kms_key(aws, run):
    result = run(name="k2", secret_name="team/k2", description="mine", kms_key_id="alias/custom")
    assert result["secret"]["name"] == "team/k2" and result["secret"]["description"] == "mine"
    assert result["secret"]["kms_key_id"] == "alias/custom"
    assert result["key_pair"]["tags"][kp.TAG_SECRET_NAME] == "team/k2"
    assert not run(name="k2", secret_name="team/k2", description="mine", kms_key_id="alias/custom")["changed"]


def test_description_and_kms_key_are_converged_on_an_existing_secret(aws, run):
    run(name="k3")
    result = run(name="k3", description="new words", kms_key_id="alias/other")
    assert result["actions"] == ["update_secret_settings"]
    assert aws.writes() == ["UpdateSecret"]
    assert result["secret"]["description"] == "new words" and result["secret"]["kms_key_id"] == "alias/other"
    assert not run(name="k3", description="new words", kms_key_id="alias/other")["changed"]
    assert not run(name="k3")["changed"]  # unset options leave them as they are


def test_return_private_key_is_explicit(aws, run):
    run(name="k4")
    result = run(name="k4", return_private_key=True)
    assert result["private_key"] == aws.secret_value("k4")
    assert "private_key" not in run(name="k4")


# ------------------------------------------------------------------------------------------- several key pairs

def test_names_make_each_key_pair_in_one_run_and_list_them_in_order(aws, run):
    result = run(names=["pcluster-v1-p1", "pcluster-v1-p1_sim"], tags=TAGS)
    assert result["changed"] and result["actions"] == ["create_key_pair", "create_secret"] * 2
    assert [k["key_pair"]["key_name"] for k in result["key_pairs"]] == ["pcluster-v1-p1", "pcluster-v1-p1_sim"]
    assert [k["secret"]["name"] for k in result["key_pairs"]] == ["pcluster-v1-p1", "pcluster-v1-p1_sim"]
    assert all(k["actions"] == ["create_key_pair", "create_secret"] for k in result["key_pairs"])
    for made in result["key_pairs"]:
        assert kp.same_public_key(public_of(aws.secret_value(made["key_pair"]["key_name"])), made["key_pair"]["public_key"])
    assert "key_pair" not in result and "secret" not in result
    again = run(names=["pcluster-v1-p1", "pcluster-v1-p1_sim"], tags=TAGS)
    assert not again["changed"] and again["actions"] == [] and aws.writes() == []


def test_names_in_check_mode_and_diff_give_one_diff_per_key_pair(aws, run):
    run(name="pcluster-v1-p2", tags=TAGS)
    result = run(names=["pcluster-v1-p2", "pcluster-v1-p2_sim"], tags=TAGS, check_mode=True, diff=True)
    assert result["actions"] == ["create_key_pair", "create_secret"] and aws.writes() == []
    assert [d["before"]["key_pair"]["exists"] for d in result["diff"]] == [True, False]
    assert [d["after"]["key_pair"]["exists"] for d in result["diff"]] == [True, True]


def test_names_absent_deletes_each(aws, run):
    run(names=["k-a", "k-b"])
    result = run(names=["k-a", "k-b"], state="absent")
    assert result["actions"] == ["delete_key_pair", "delete_secret"] * 2
    assert aws.everything() == ([], [], [])


def test_a_bad_name_among_names_is_refused_by_its_index_before_any_call(aws, run):
    result = run(names=["good", "bad name"])
    assert result["failed"] and "names[1]: 'bad name' has characters that are not allowed" in result["msg"]
    assert "names[0]" not in result["msg"] and aws.calls == []


def test_names_with_secret_name_is_refused(aws, run):
    result = run(names=["k-c", "k-d"], secret_name="shared")
    assert result["failed"] and "mutually exclusive" in result["msg"] and aws.calls == []


def test_a_failure_at_the_second_key_pair_reports_what_the_first_did(aws, run):
    run(name="k-f2")  # its secret and key pair exist...
    aws.ec2.delete_key_pair(KeyName="k-f2")
    aws.sm.tag_resource(SecretId="k-f2", Tags=[{"Key": kp.TAG_KEY_PAIR, "Value": "someone-else"}])  # ...and it is foreign
    result = run(names=["k-f1", "k-f2"])
    assert result["failed"] and result["half_state"] == "foreign_secret"
    assert result["changed"] and result["actions"] == ["create_key_pair", "create_secret"]
    assert result["key_pairs"][0]["key_pair"]["key_name"] == "k-f1" and result["key_pairs"][1] == {"actions": []}


# ------------------------------------------------------------------------------------------- tags

def test_tags_follow_amazon_aws_semantics_on_both_halves(aws, run):
    run(name="k5", tags={"a": "1", "b": "2"})
    assert not run(name="k5")["changed"]  # tags unset: left alone
    kept = run(name="k5", tags={"c": "3"}, purge_tags=False)
    assert kept["actions"] == ["update_key_pair_tags", "update_secret_tags"]
    assert {"a", "b", "c"} <= set(kept["key_pair"]["tags"]) and {"a", "b", "c"} <= set(kept["secret"]["tags"])
    purged = run(name="k5", tags={"c": "3"})
    assert purged["key_pair"]["tags"] == {"c": "3", kp.TAG_SECRET_STORE: "secretsmanager", kp.TAG_SECRET_NAME: "k5"}
    assert purged["secret"]["tags"] == {"c": "3", kp.TAG_KEY_PAIR: "k5"}
    assert run(name="k5", tags={})["secret"]["tags"] == {kp.TAG_KEY_PAIR: "k5"}  # link tags are never purged


def test_check_mode_and_diff_of_a_tag_change(aws, run):
    run(name="k6", tags={"a": "1"})
    result = run(name="k6", tags={"a": "2"}, check_mode=True, diff=True)
    assert result["changed"] and result["actions"] == ["update_key_pair_tags", "update_secret_tags"]
    assert aws.writes() == []
    assert result["diff"]["before"]["key_pair"]["tags"]["a"] == "1"
    assert result["diff"]["after"]["key_pair"]["tags"]["a"] == "2"
    assert result["diff"]["after"]["secret"]["tags"]["a"] == "2"
    assert aws.key_pair("k6")["Tags"] == [{"Key": "a", "Value": "1"}] or {"Key": "a", "Value": "1"} in aws.key_pair("k6")["Tags"]


# ------------------------------------------------------------------------------------------- check mode

def test_check_mode_of_a_new_key_makes_no_write(aws, run):
    before = aws.everything()
    result = run(name="k7", tags={"a": "1"}, check_mode=True, diff=True)
    assert result["changed"] and result["actions"] == ["create_key_pair", "create_secret"]
    assert aws.writes() == [] and aws.everything() == before
    assert result["key_pair"] == {"key_name": "k7", "key_type": "ed25519",
                                  "tags": {"a": "1", kp.TAG_SECRET_STORE: "secretsmanager", kp.TAG_SECRET_NAME: "k7"}}
    assert result["secret"]["arn"] is None
    assert result["diff"]["before"] == {"key_pair": {"exists": False}, "secret": {"exists": False}}
    assert result["diff"]["after"]["key_pair"]["exists"] and result["diff"]["after"]["secret"]["exists"]


def test_diff_never_shows_key_material(aws, run):
    result = run(name="k8", diff=True)
    text = json.dumps(result["diff"])
    assert "public_key" not in text and "ssh-ed25519" not in text and "PRIVATE" not in text


# ------------------------------------------------------------------------------------------- half states

@pytest.fixture
def short_concurrent_run_window(monkeypatch):
    """A key pair made seconds ago without its secret may be a concurrent run's: the module waits for that run's secret
    for CONCURRENT_RUN_SECONDS (120) before it fails. 2 s keeps that wait, and the failure after it, in the test."""
    monkeypatch.setattr(kp, "CONCURRENT_RUN_SECONDS", 2)


def test_key_pair_without_secret_fails_without_writing(aws, run, short_concurrent_run_window):
    aws.ec2.create_key_pair(KeyName="k9", KeyType="ed25519")
    result = run(name="k9")
    assert result["failed"] and result["half_state"] == "key_pair_without_secret"
    assert "exists but its private key was never stored" in result["msg"] and "recreate=true" in result["msg"]
    assert aws.writes() == []


def test_key_pair_without_secret_is_replaced_with_recreate(aws, run):
    old_id = aws.ec2.create_key_pair(KeyName="k10", KeyType="ed25519")["KeyPairId"]
    result = run(name="k10", recreate=True)
    assert result["actions"] == ["delete_key_pair", "create_key_pair", "create_secret"]
    assert result["key_pair"]["key_pair_id"] != old_id
    assert kp.same_public_key(public_of(aws.secret_value("k10")), result["key_pair"]["public_key"])
    assert not run(name="k10", recreate=True)["changed"]


def test_check_mode_of_a_repair_writes_nothing(aws, run):
    aws.ec2.create_key_pair(KeyName="k10c", KeyType="ed25519")
    result = run(name="k10c", recreate=True, check_mode=True, diff=True)
    assert result["actions"] == ["delete_key_pair", "create_key_pair", "create_secret"] and aws.writes() == []
    assert result["diff"]["after"]["key_pair"]["key_pair_id"] is None  # a new key pair, id not known yet
    assert run(name="k10c", check_mode=True)["half_state"] == "key_pair_without_secret"


def test_secret_without_key_pair_gets_its_public_key_imported(aws, run):
    private_key = make_secret_only(aws, "k11")
    result = run(name="k11", tags={"a": "1"})
    assert result["actions"] == ["import_key_pair", "update_secret_tags"]
    assert kp.same_public_key(result["key_pair"]["public_key"], public_of(private_key))
    assert aws.secret_value("k11") == private_key  # the stored key keeps working
    assert result["key_pair"]["tags"]["a"] == "1"
    assert not run(name="k11", tags={"a": "1"})["changed"]


def test_secret_scheduled_for_deletion_is_restored(aws, run):
    run(name="k12")
    public_key = aws.key_pair("k12")["PublicKey"]
    aws.sm.delete_secret(SecretId="k12", RecoveryWindowInDays=7)
    checked = run(name="k12", check_mode=True)
    assert checked["actions"] == ["restore_secret"] and aws.writes() == []
    result = run(name="k12")
    assert result["actions"] == ["restore_secret"]
    assert result["secret"]["deleted_date"] is None
    assert kp.same_public_key(public_of(aws.secret_value("k12")), public_key)


def test_secret_scheduled_for_deletion_without_key_pair_is_restored_and_imported(aws, run):
    private_key = make_secret_only(aws, "k13")
    aws.sm.delete_secret(SecretId="k13", RecoveryWindowInDays=7)
    result = run(name="k13")
    assert result["actions"] == ["restore_secret", "import_key_pair", "update_secret_tags"]
    assert kp.same_public_key(result["key_pair"]["public_key"], public_of(private_key))


def test_halves_that_do_not_belong_together(aws, run):
    run(name="k14")
    arn = aws.sm.describe_secret(SecretId="k14")["ARN"]
    other = aws.ec2.create_key_pair(KeyName="k14-other", KeyType="ed25519")["KeyMaterial"]
    aws.sm.put_secret_value(SecretId="k14", SecretString=other)
    failed = run(name="k14")
    assert failed["half_state"] == "key_mismatch" and "do not belong together" in failed["msg"]
    assert aws.writes() == []
    result = run(name="k14", recreate=True)
    assert result["actions"] == ["delete_key_pair", "create_key_pair", "store_private_key"]
    assert result["secret"]["arn"] == arn  # consumers holding the ARN keep it
    assert kp.same_public_key(public_of(aws.secret_value("k14")), result["key_pair"]["public_key"])


def test_key_type_mismatch(aws, run):
    run(name="k15", key_type="rsa")
    failed = run(name="k15")
    assert failed["half_state"] == "key_type_mismatch" and "key_type=rsa" in failed["msg"]
    replaced = run(name="k15", recreate=True)
    assert replaced["key_pair"]["key_type"] == "ed25519"


def test_secret_that_holds_no_key(aws, run):
    aws.sm.create_secret(Name="k16", SecretString="hunter2")
    failed = run(name="k16")
    assert failed["half_state"] == "unreadable_secret" and "does not hold an SSH private key" in failed["msg"]
    assert "hunter2" not in json.dumps(failed)
    result = run(name="k16", recreate=True)
    assert result["actions"] == ["create_key_pair", "store_private_key", "update_secret_tags"]


def test_plain_string_parameter_is_replaced_by_a_securestring_with_recreate(aws, run):
    name = "/obi/hpc_provisioner/keypairs/k17"
    aws.ssm.put_parameter(Name=name, Value="plain", Type="String")
    failed = run(name="k17", secret_store="ssm")
    assert failed["half_state"] == "insecure_parameter"
    result = run(name="k17", secret_store="ssm", recreate=True)
    assert result["actions"] == ["delete_secret", "create_key_pair", "create_secret"]
    parameter = aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_secret_of_another_key_pair_is_never_touched(aws, run, state):
    run(name="owner-k18")
    result = run(name="k18", secret_name="owner-k18", state=state, recreate=True)
    assert result["half_state"] == "foreign_secret" and "holds the private key of key pair 'owner-k18'" in result["msg"]
    assert aws.writes() == []


def test_lookups_are_exact_not_by_prefix(aws, run):
    sim = run(name="pcluster-v-p_sim")
    admin = run(name="pcluster-v-p")
    assert admin["actions"] == ["create_key_pair", "create_secret"]
    assert admin["secret"]["arn"] != sim["secret"]["arn"]
    assert aws.secret_value("pcluster-v-p") != aws.secret_value("pcluster-v-p_sim")


# ------------------------------------------------------------------------------------------- absent

def test_absent_deletes_both_for_good_and_the_name_can_be_reused_at_once(aws, run):
    run(name="k19")
    result = run(name="k19", state="absent", diff=True)
    assert result["actions"] == ["delete_key_pair", "delete_secret"]
    assert result["key_pair"] is None and result["secret"] is None
    assert result["diff"]["after"] == {"key_pair": {"exists": False}, "secret": {"exists": False}}
    assert aws.key_pair("k19") is None and "k19" not in aws.everything()[1]
    again = run(name="k19", state="absent")
    assert not again["changed"] and aws.writes() == []
    assert run(name="k19")["actions"] == ["create_key_pair", "create_secret"]


def test_absent_in_check_mode_writes_nothing(aws, run):
    run(name="k20")
    result = run(name="k20", state="absent", check_mode=True)
    assert result["changed"] and aws.writes() == [] and aws.key_pair("k20")


def test_absent_removes_a_half(aws, run):
    make_secret_only(aws, "k21")
    aws.sm.delete_secret(SecretId="k21", RecoveryWindowInDays=7)
    assert run(name="k21", state="absent")["actions"] == ["delete_secret"]
    assert "k21" not in aws.everything()[1]


# ------------------------------------------------------------------------------------------- SSM

def test_ssm_store(aws, run):
    result = run(name="k22", secret_store="ssm", tags={"a": "1"})
    name = "/obi/hpc_provisioner/keypairs/k22"
    assert result["secret"]["name"] == name and result["secret"]["arn"].endswith(":parameter" + name)
    assert result["secret"]["tags"] == {"a": "1", kp.TAG_KEY_PAIR: "k22"}
    parameter = aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert kp.same_public_key(public_of(parameter["Value"]), result["key_pair"]["public_key"])
    assert not run(name="k22", secret_store="ssm", tags={"a": "1"})["changed"] and aws.writes() == []
    updated = run(name="k22", secret_store="ssm", description="d2", kms_key_id="alias/k")
    assert updated["actions"] == ["update_secret_settings"] and updated["secret"]["description"] == "d2"
    assert aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == parameter["Value"]
    assert run(name="k22", secret_store="ssm", state="absent")["actions"] == ["delete_key_pair", "delete_secret"]
    assert name not in aws.everything()[2]


def test_ssm_secret_without_key_pair_is_repaired(aws, run):
    private_key = aws.ec2.create_key_pair(KeyName="k23", KeyType="ed25519")["KeyMaterial"]
    aws.ec2.delete_key_pair(KeyName="k23")
    aws.ssm.put_parameter(Name="/keys/k23", Value=private_key, Type="SecureString")
    result = run(name="k23", secret_store="ssm", secret_name="/keys/k23")
    assert result["actions"] == ["import_key_pair", "update_secret_tags"]
    assert kp.same_public_key(result["key_pair"]["public_key"], public_of(private_key))


# ------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("args, fragment", [
    ({"name": ""}, "name: must not be empty"),
    ({"name": "x" * 256}, "name: must be at most 255 characters, got 256"),
    ({"name": "bad/name"}, "name: 'bad/name' has characters that are not allowed"),
    ({"name": "ok", "key_type": "dsa"}, "value of key_type must be one of: ed25519, rsa, got: dsa"),
    ({"name": "ok", "secret_store": "vault"}, "value of secret_store must be one of: secretsmanager, ssm, got: vault"),
    ({"name": "ok", "secret_store": "ssm", "secret_name": "/aws/x"}, "secret_name: '/aws/x' is not allowed"),
    ({"name": "ok", "tags": {"aws:x": "1"}}, "tags: key 'aws:x' is not allowed"),
    ({"name": "bad name", "state": "absent"}, "name: 'bad name' has characters"),
])
def test_bad_input_fails_before_any_aws_call(aws, run, args, fragment):
    result = run(**args)
    assert result["failed"] and fragment in result["msg"]
    assert aws.calls == []


def test_aws_errors_name_the_operation(aws, run):
    aws.fail("DescribeKeyPairs", "UnauthorizedOperation")
    result = run(name="k24")
    assert result["failed"]
    assert result["msg"].startswith("Failed to describe key pair 'k24' (DescribeKeyPairs): ")
    assert result["error"]["code"] == "UnauthorizedOperation"


def test_throttling_is_retried(aws, run):
    aws.fail("CreateSecret", "ThrottlingException")
    aws.fail("CreateKeyPair", "RequestLimitExceeded")
    result = run(name="k25")
    assert result["actions"] == ["create_key_pair", "create_secret"]
    assert aws.calls.count(("secretsmanager", "CreateSecret")) == 2


def test_failed_store_rolls_the_new_key_pair_back(aws, run):
    aws.fail("CreateSecret", "AccessDeniedException")
    result = run(name="k26")
    assert result["failed"] and "Failed to create secret 'k26' (CreateSecret)" in result["msg"]
    assert "the key pair created in this run was deleted again" in result["msg"]
    assert aws.key_pair("k26") is None
    assert run(name="k26")["actions"] == ["create_key_pair", "create_secret"]


def test_failed_rollback_says_what_is_left_and_how_to_fix_it(aws, run, short_concurrent_run_window):
    aws.fail("CreateSecret", "AccessDeniedException")
    aws.fail("DeleteKeyPair", "UnauthorizedOperation")
    result = run(name="k27")
    assert "could not be deleted and is left without its private key: rerun with recreate=true" in result["msg"]
    assert run(name="k27")["half_state"] == "key_pair_without_secret"


def test_private_key_is_masked_even_in_errors(aws, run, monkeypatch):
    def echoing_create(_store, _name, value, *_args):
        error = ClientError({"Error": {"Code": "ValidationException", "Message": f"bad value {value}"}}, "CreateSecret")
        raise keypair_api.KeypairAWSError(message="Failed to create secret (CreateSecret)", exception=error)

    monkeypatch.setattr(keypair_api.SecretsManagerStore, "create", echoing_create)
    result = run(name="k28")  # run() asserts that "PRIVATE KEY" is nowhere in the output
    assert result["failed"] and "********" in result["msg"]


# ------------------------------------------------------------------------------------------- info module

def test_info_by_tags_pairs_key_pairs_with_their_secrets(aws, run):
    project = {"obp:costcenter:vlabid": "vi", "obp:costcenter:project": "pi"}
    run(name="pcluster-vi-pi", tags=project)
    run(name="pcluster-vi-pi_sim", tags=project, secret_store="ssm")
    run(name="pcluster-vi-other", tags={"obp:costcenter:vlabid": "vi", "obp:costcenter:project": "other"})
    result = run(vlab_keypair_info, tags=project)
    assert not result["changed"] and aws.writes() == []
    assert [k["key_name"] for k in result["key_pairs"]] == ["pcluster-vi-pi", "pcluster-vi-pi_sim"]
    admin, sim = result["key_pairs"]
    assert admin["secret"]["store"] == "secretsmanager" and admin["secret"]["exists"] and admin["secret"]["arn"]
    assert sim["secret"] == dict(sim["secret"], store="ssm", name="/obi/hpc_provisioner/keypairs/pcluster-vi-pi_sim", exists=True)
    assert sim["public_key"].startswith("ssh-ed25519 ") and result["orphan_secrets"] == []


def test_info_reports_orphans_and_missing_secrets(aws, run):
    project = {"obp:costcenter:vlabid": "vo", "obp:costcenter:project": "po"}
    run(name="ko-1", tags=project)
    run(name="ko-2", tags=project, secret_store="ssm")
    run(name="ko-3", tags=project)
    aws.ec2.delete_key_pair(KeyName="ko-1")
    aws.ec2.delete_key_pair(KeyName="ko-2")
    aws.sm.delete_secret(SecretId="ko-3", ForceDeleteWithoutRecovery=True)
    result = run(vlab_keypair_info, tags=project)
    assert [k["key_name"] for k in result["key_pairs"]] == ["ko-3"]
    assert result["key_pairs"][0]["secret"] == {"store": "secretsmanager", "name": "ko-3", "exists": False}
    assert [(o["store"], o["key_name"]) for o in result["orphan_secrets"]] == [("secretsmanager", "ko-1"), ("ssm", "ko-2")]
    only_sm = run(vlab_keypair_info, tags=project, secret_stores=["secretsmanager"])
    assert [o["key_name"] for o in only_sm["orphan_secrets"]] == ["ko-1"]


def test_info_by_names_is_exact_and_includes_old_key_pairs(aws, run):
    aws.ec2.create_key_pair(KeyName="old-k", KeyType="rsa")
    aws.sm.create_secret(Name="old-k", SecretString="x")
    run(name="old-k_sim")
    result = run(vlab_keypair_info, names=["old-k", "missing"], secret_stores=[])
    assert [k["key_name"] for k in result["key_pairs"]] == ["old-k"]
    assert result["key_pairs"][0]["secret"]["exists"] and result["key_pairs"][0]["secret"]["name"] == "old-k"


def test_info_without_filters_lists_the_managed_key_pairs(aws, run):
    aws.ec2.create_key_pair(KeyName="unmanaged", KeyType="rsa")
    run(name="managed")
    names = [k["key_name"] for k in run(vlab_keypair_info)["key_pairs"]]
    assert "managed" in names and "unmanaged" not in names


def test_info_refuses_bad_names_before_any_call(aws, run):
    result = run(vlab_keypair_info, names=["bad name"])
    assert result["failed"] and "names[0]: 'bad name'" in result["msg"] and aws.calls == []
