"""The naming rule of one project's resources (module_utils/names.py) and the public key check."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import itertools
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.ssh_public_key import public_key_error


def test_old_names_are_kept_when_they_fit():
    assert names.cluster_name("vlab1", "p1", "database") == "pcluster-vlab1-p1"
    assert names.project_names("vlab1", "p1")["fsx"] == "vlab1-p1"
    assert names.project_names("vlab1", "p1")["sim_key"] == "pcluster-vlab1-p1_sim"
    fifty = "v" * 20, "p" * 20  # pcluster-<20>-<20>: 50 characters
    assert names.cluster_name(*fifty, "off") == "pcluster-" + "-".join(fifty)
    assert names.is_short_cluster_name(names.cluster_name(*fifty, "database"))


def test_two_uuids_get_a_valid_stable_name_within_the_accounting_limit():
    vlab, project = str(uuid.uuid4()), str(uuid.uuid4())
    for accounting in ("database", "external", "off"):
        name = names.cluster_name(vlab, project, accounting)
        assert name == names.cluster_name(vlab, project, accounting) == names.short_cluster_name(vlab, project)
        assert len(name) == 40 and cluster_name_error(name, slurm_accounting=True) is None
    assert names.cluster_name_candidates(vlab, project) == [names.short_cluster_name(vlab, project)]
    found = names.project_names(vlab, project, "database")
    assert len(found["fsx"]) == 30 and found["fsx"].startswith("fsx-")
    assert len(found["project_group"]) == 32 and found["project_group"].startswith("p-")
    assert found["job_log_group"] == f"/obi/hpc/{vlab}/{project}"


def test_different_pairs_never_share_a_name():
    ids = [str(uuid.uuid4()) for _index in range(40)] + ["a", "a-b", "b", "b-c", "c"]
    pairs = list(itertools.permutations(ids, 2))
    for accounting in ("database", "off"):
        made = [names.cluster_name(v, p, accounting) for v, p in pairs]
        # The old form is ambiguous by itself (a-b + c, a + b-c): the playbooks refuse such a collision by the tags.
        ambiguous = {"pcluster-a-b-c"}
        assert len({n for n in made if n not in ambiguous}) == len([n for n in made if n not in ambiguous])
    fsx = [names.project_names(v, p, "database")["fsx"] for v, p in pairs if len(v) == len(p) == 36]
    assert len(set(fsx)) == len(fsx)


def test_candidates_when_accounting_is_unknown():
    assert names.cluster_name_candidates("v", "p") == ["pcluster-v-p"]
    vlab, project = "v" * 20, "p" * 20
    assert names.cluster_name_candidates(vlab, project) == [f"pcluster-{vlab}-{project}",
                                                            names.short_cluster_name(vlab, project)]


@pytest.mark.parametrize("value", ["", "Bad", "a_b", "-a", "a" * 37, None, 5])
def test_bad_ids_are_named(value):
    assert names.id_error("vlab_id", value).startswith("vlab_id: ")


def _openssh(key):
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_public_keys_are_parsed_and_weak_ones_refused():
    assert public_key_error(_openssh(ed25519.Ed25519PrivateKey.generate()) + " sim@host") is None
    assert public_key_error(_openssh(ec.generate_private_key(ec.SECP384R1()))) is None
    assert public_key_error(_openssh(rsa.generate_private_key(public_exponent=65537, key_size=3072))) is None
    weak = public_key_error(_openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    assert weak.startswith("an RSA key of 2048 bits is too weak")
    assert public_key_error("ssh-ed25519 AAAAnot-base64").startswith("not a parseable public key")
    assert public_key_error("ssh-ed25519 AAAA\nssh-ed25519 AAAA").startswith("one line only")


@pytest.mark.parametrize("kind, good, bad", [
    ("vlab_id", ["a", "3f2b8c1e-9d4a-4e6b-8f0c-1a2b3c4d5e6f"], ["", "A", "-a", "a_b", "a" * 37, "a\n"]),
    ("fsx_file_system_id", ["fs-0123abcd", "fs-0123456789abcdef0", "fs-" + "a" * 18],
     ["fs-0123abc", "fs-" + "a" * 19, "fs-0123ABCD", "fsx-0123abcd"]),
    ("efs_file_system_id", ["fs-0123abcd", "fs-" + "a" * 40], ["fs-0a", "fs-" + "a" * 41]),
    ("subnet_id", ["subnet-0123abcd", "subnet-00000000000000000"], ["subnet-0a", "subnet-0123456789", "sg-0123abcd"]),
    ("security_group_id", ["sg-0123abcd", "sg-0123456789abcdef0"], ["sg-0a", "subnet-0123abcd"]),
    ("ami_id", ["ami-0123abcd", "ami-0123456789abcdef0"], ["ami-0a", "ami-0123456789abcdef0 "]),
    ("arn", ["arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-AbCdEf", "arn:aws:s3:::bucket"],
     ["", "arn:", "arn:aws:secretsmanager", "not an arn"]),
    ("key_pair_name", ["k", "pcluster-v-p_sim", "a." + "b" * 253], ["", "-k", "bad key/name", "k" * 256]),
])
def test_each_kind_of_id_has_one_rule(kind, good, bad):
    assert all(names.is_valid_id(value, kind) for value in good), kind
    assert not any(names.is_valid_id(value, kind) for value in bad), kind
    assert not names.is_valid_id(None, kind) and names.id_rule(kind)


def test_an_unknown_kind_of_id_is_refused():
    with pytest.raises(ValueError, match="no id rule 'bucket'"):
        names.is_valid_id("b", "bucket")


def test_the_database_log_group_and_prefix_follow_the_rule():
    found = names.project_names("vlab1", "p-1", "database")
    assert found["database"] == "pcluster_vlab1_p_1" == names.database_name(found["cluster"])
    assert found["job_log_group"] == "/obi/hpc/vlab1/p-1" and found["project_prefix"] == "vlab1/p-1"


def test_a_cluster_given_is_the_one_its_names_follow():
    vlab, project = str(uuid.uuid4()), str(uuid.uuid4())
    given = names.project_names(vlab, project, "off", "pcluster-old-form")
    assert (given["cluster"], given["admin_key"], given["sim_key"]) == ("pcluster-old-form", "pcluster-old-form",
                                                                        "pcluster-old-form_sim")
    assert given["database"] == "pcluster_old_form" and given["fsx"] == f"{vlab[:14]}-{project[:15]}"
    assert names.project_names(vlab, project, "off", "") == names.project_names(vlab, project, "off")
