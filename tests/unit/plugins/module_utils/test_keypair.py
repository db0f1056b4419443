"""Unit tests of the pure decision logic in plugins/module_utils/keypair.py (no AWS call at all).

The AWS calls (keypair_api.py): test_keypair_api.py; the modules: tests/unit/plugins/modules/test_vlab_keypair.py.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp

CTX = {"name": "pcluster-v-p", "key_type": "ed25519", "secret_store": "secretsmanager", "secret_name": "pcluster-v-p",
       "recreate": False}


def ed25519_pem():
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode()


def rsa_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def params(**overrides):
    base = {"name": "pcluster-v-p", "secret_store": "secretsmanager", "secret_name": None, "description": None,
            "kms_key_id": None, "tags": None}
    base.update(overrides)
    return base


def test_the_decisions_load_without_boto3():
    code = ("import sys; from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    assert subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout == "[]\n"


# ------------------------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("name, fragment", [
    ("", "name: must not be empty"),
    ("a" * 256, "name: must be at most 255 characters, got 256"),
    ("bad name", "name: 'bad name' has characters that are not allowed"),
    ("pcluster*", "has characters that are not allowed"),
    ("-leading-dash", "starting with a letter or digit"),
    ("ключ", "has characters that are not allowed"),
    ("trailing-newline\n", "has characters that are not allowed"),
])
def test_bad_names_are_refused_naming_the_field(name, fragment):
    assert fragment in kp.name_error(name)


@pytest.mark.parametrize("name", ["pcluster-v-p", "pcluster-v-p_sim", "a", "A.b_c-1", "a" * 255])
def test_good_names_pass(name):
    assert kp.name_error(name) is None


def test_default_secret_names():
    assert kp.default_secret_name("pcluster-v-p", "secretsmanager") == "pcluster-v-p"
    assert kp.default_secret_name("pcluster-v-p", "ssm") == "/obi/hpc_provisioner/keypairs/pcluster-v-p"


@pytest.mark.parametrize("store, secret_name, fragment", [
    ("secretsmanager", "", "secret_name: must not be empty"),
    ("secretsmanager", "a b", "for a Secrets Manager secret name"),
    ("secretsmanager", "x" * 257, "at most 256 characters (it is recorded in a tag on the key pair)"),
    ("ssm", "no/leading", "must start with '/'"),
    ("ssm", "/a//b", "empty path level"),
    ("ssm", "/aws/x", "cannot start with 'aws' or 'ssm'"),
    ("ssm", "SSM-x", "cannot start with 'aws' or 'ssm'"),
    ("ssm", "/a@b", "for an SSM parameter name"),
    ("ssm", "/" + "/".join("l" * 16), "at most 15 path levels"),
])
def test_bad_secret_names_are_refused(store, secret_name, fragment):
    assert fragment in kp.secret_name_error(secret_name, store)


@pytest.mark.parametrize("store, secret_name", [
    ("secretsmanager", "pcluster-v-p"), ("secretsmanager", "team/key+1=@x"), ("ssm", "/obi/keys/k-1"), ("ssm", "plain"),
])
def test_good_secret_names_pass(store, secret_name):
    assert kp.secret_name_error(secret_name, store) is None


def test_present_params_collect_every_problem():
    errors = kp.present_params_errors(params(name="bad name", description="", kms_key_id="k" * 2049,
                                             tags={"aws:x": "1", "ok": "fine", "k": "bad\tvalue"}))
    joined = "; ".join(errors)
    for fragment in ("name:", "description: must have 1 to 2048 characters, got 0",
                     "kms_key_id: must have 1 to 2048 characters, got 2049", "prefix 'aws:' is reserved",
                     "'k': 'bad\\tvalue' has characters that are not allowed"):
        assert fragment in joined
    assert not any("'ok'" in error for error in errors)


def test_default_ssm_name_too_long_names_the_name_option():
    errors = kp.present_params_errors(params(name="a" * 240, secret_store="ssm"))
    assert errors == [errors[0]] and errors[0].startswith("name: the default secret_name")


def test_ssm_description_limit_is_smaller():
    assert kp.present_params_errors(params(secret_store="ssm", description="d" * 1025))
    assert not kp.present_params_errors(params(description="d" * 1025))


def test_the_link_tags_are_the_modules_own():
    """The checks themselves: test_tags.py. Here: the tags linking key pairs and secrets cannot be set by hand."""
    assert "the module manages the tags" in kp.tags_errors({"obi:hpc_provisioner:key_pair": "x"})[0]
    assert "reserved by AWS" in kp.tags_errors({"AWS:k": "v"})[0]
    assert not kp.tags_errors({"obp:costcenter:vlabid": "v-1", "SBO_Billing": "hpc:parallelcluster", "n": 3, "e": ""})


def test_info_params_allow_reserved_tags_and_check_each_name():
    assert not kp.info_params_errors({"names": ["a"], "tags": {"obi:hpc_provisioner:key_pair": "a"}})
    assert kp.info_params_errors({"names": ["ok", "bad name"], "tags": None})[0].startswith("names[1]:")


# ------------------------------------------------------------------------------------------- key material

@pytest.mark.parametrize("make, key_type", [(ed25519_pem, "ed25519"), (rsa_pem, "rsa")])
def test_inspect_private_key_derives_the_openssh_public_key(make, key_type):
    pem = make()
    found = kp.inspect_private_key(pem)
    key = serialization.load_ssh_private_key(pem.encode(), None) if key_type == "ed25519" else \
        serialization.load_pem_private_key(pem.encode(), None)
    expected = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert found == {"public_key": expected, "key_type": key_type}


@pytest.mark.parametrize("value", [None, "", "not a key", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"])
def test_inspect_private_key_of_something_else(value):
    assert kp.inspect_private_key(value) == {"public_key": None, "key_type": None}


def test_same_public_key_ignores_comments():
    assert kp.same_public_key("ssh-ed25519 AAAA name", "ssh-ed25519 AAAA")
    assert not kp.same_public_key("ssh-ed25519 AAAA", "ssh-ed25519 BBBB")
    assert not kp.same_public_key(None, "ssh-ed25519 AAAA")


def test_key_type_of():
    assert kp.key_type_of("ssh-ed25519 AAAA") == "ed25519"
    assert kp.key_type_of("ssh-rsa AAAA") == "rsa"
    assert kp.key_type_of("ecdsa-sha2-nistp256 AAAA") == "ecdsa-sha2-nistp256"


# ------------------------------------------------------------------------------------------- plan_present

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY"
KEY_PAIR = {"KeyName": "pcluster-v-p", "KeyPairId": "key-1", "KeyType": "ed25519", "PublicKey": PUB + " pcluster-v-p"}
SECRET = {"store": "secretsmanager", "name": "pcluster-v-p", "secure": True, "tags": {}}
STORED = {"public_key": PUB, "key_type": "ed25519"}


def test_nothing_there_creates_both():
    assert kp.plan_present(None, None, None, CTX) == ["create_key_pair", "create_secret"]


def test_both_in_place_and_matching_is_no_step():
    assert not kp.plan_present(KEY_PAIR, SECRET, STORED, CTX)


def test_secret_without_key_pair_is_repaired_by_import():
    assert kp.plan_present(None, SECRET, STORED, CTX) == ["import_key_pair"]


def test_unread_secret_scheduled_for_deletion_is_trusted_in_check_mode():
    assert kp.plan_present(None, SECRET, None, CTX) == ["import_key_pair"]
    assert not kp.plan_present(KEY_PAIR, SECRET, None, CTX)


def test_key_pair_without_secret_fails_naming_state_and_option():
    with pytest.raises(kp.HalfStateError) as error:
        kp.plan_present(KEY_PAIR, None, None, CTX)
    assert error.value.state == "key_pair_without_secret"
    message = str(error.value)
    assert "key pair 'pcluster-v-p' exists but its private key was never stored" in message
    assert "secretsmanager secret 'pcluster-v-p'" in message and "recreate=true" in message


def test_key_pair_without_secret_with_recreate_replaces_the_key_pair():
    assert kp.plan_present(KEY_PAIR, None, None, dict(CTX, recreate=True)) == [
        "delete_key_pair", "create_key_pair", "create_secret"]


@pytest.mark.parametrize("key_pair, secret, stored, state", [
    (KEY_PAIR, SECRET, {"public_key": "ssh-ed25519 OTHER", "key_type": "ed25519"}, "key_mismatch"),
    (KEY_PAIR, SECRET, {"public_key": None, "key_type": None}, "unreadable_secret"),
    (None, SECRET, {"public_key": "ssh-rsa AAAA", "key_type": "rsa"}, "key_type_mismatch"),
    (KEY_PAIR, dict(SECRET, secure=False), None, "insecure_parameter"),
])
def test_states_that_need_recreate(key_pair, secret, stored, state):
    with pytest.raises(kp.HalfStateError) as error:
        kp.plan_present(key_pair, secret, stored, CTX)
    assert error.value.state == state
    assert "recreate=true" in str(error.value)


def test_key_type_mismatch_message_offers_both_ways_out():
    with pytest.raises(kp.HalfStateError) as error:
        kp.plan_present(None, SECRET, {"public_key": "ssh-rsa AAAA", "key_type": "rsa"}, CTX)
    assert "is rsa but key_type is ed25519. Set key_type=rsa to keep it, or recreate=true" in str(error.value)


def test_recreate_keeps_the_secret_and_stores_a_new_version():
    mismatch = {"public_key": "ssh-ed25519 OTHER", "key_type": "ed25519"}
    assert kp.plan_present(KEY_PAIR, SECRET, mismatch, dict(CTX, recreate=True)) == [
        "delete_key_pair", "create_key_pair", "store_private_key"]
    assert kp.plan_present(None, SECRET, {"public_key": None, "key_type": None}, dict(CTX, recreate=True)) == [
        "create_key_pair", "store_private_key"]


def test_recreate_replaces_a_plain_string_parameter():
    assert kp.plan_present(KEY_PAIR, dict(SECRET, secure=False), None, dict(CTX, recreate=True)) == [
        "delete_key_pair", "delete_secret", "create_key_pair", "create_secret"]


def test_recreate_never_touches_halves_that_belong_together():
    assert not kp.plan_present(KEY_PAIR, SECRET, STORED, dict(CTX, recreate=True))


def test_foreign_secret():
    assert kp.foreign_secret_error(None, "a") is None
    assert kp.foreign_secret_error(dict(SECRET, tags={}), "a") is None
    assert kp.foreign_secret_error(dict(SECRET, tags={kp.TAG_KEY_PAIR: "a"}), "a") is None
    assert "holds the private key of key pair 'b'" in kp.foreign_secret_error(dict(SECRET, tags={kp.TAG_KEY_PAIR: "b"}), "a")


# ------------------------------------------------------------------------------------------- tags and settings

def test_desired_tags_follow_amazon_aws_semantics_and_keep_link_tags():
    link = kp.key_pair_link_tags("ssm", "/p")
    assert kp.desired_tags(None, True, link) == (link, False)
    wanted, purge = kp.desired_tags({"a": 1}, True, link)
    assert wanted == {"a": "1", kp.TAG_SECRET_STORE: "ssm", kp.TAG_SECRET_NAME: "/p"} and purge is True
    assert kp.desired_tags({}, False, link)[1] is False


def test_apply_tag_changes():
    assert kp.apply_tag_changes({"a": "1", "b": "2"}, {"c": 3}, ["a"]) == {"b": "2", "c": "3"}


@pytest.mark.parametrize("wanted, current, matches", [
    (None, None, True), (None, "x", True), ("k", None, False), ("alias/x", "alias/x", True),
    ("alias/x", "arn:aws:kms:us-east-1:1:alias/x", True), ("1234", "arn:aws:kms:us-east-1:1:key/1234", True),
    ("arn:aws:kms:us-east-1:1:key/1234", "1234", True), ("alias/x", "alias/y", False),
])
def test_kms_key_matches(wanted, current, matches):
    assert kp.kms_key_matches(wanted, current) is matches


def test_secret_reference_from_link_tags_or_old_provisioner_default():
    assert kp.secret_reference({}, "k") == ("secretsmanager", "k")
    assert kp.secret_reference({kp.TAG_SECRET_STORE: "ssm"}, "k") == ("ssm", "/obi/hpc_provisioner/keypairs/k")
    assert kp.secret_reference({kp.TAG_SECRET_STORE: "ssm", kp.TAG_SECRET_NAME: "/x"}, "k") == ("ssm", "/x")
    assert kp.secret_reference({kp.TAG_SECRET_STORE: "elsewhere"}, "k") == ("secretsmanager", "k")


def test_results_never_carry_values():
    record = dict(SECRET, arn="arn", description="d", kms_key_id=None, deleted_date=None, value="SECRET")
    assert "value" not in kp.secret_result(record)
    assert kp.secret_result(None) is None and kp.key_pair_result(None) is None
    result = kp.key_pair_result(dict(KEY_PAIR, Tags=[{"Key": "a", "Value": "b"}]))
    assert result["tags"] == {"a": "b"} and result["key_pair_id"] == "key-1"
