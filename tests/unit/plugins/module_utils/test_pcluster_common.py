"""Unit tests of plugins/module_utils/pcluster_common.py: name and config checks, the AWS environment (no AWS call)."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_common as common
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_match

ACCOUNTING = {"Scheduling": {"SlurmSettings": {"Database": {"Uri": "db:3306"}}}}
# pcluster's own clients: botocore's standard retry mode with the collection's 10 attempts (aws.SDK_RETRY_ENVIRONMENT).
SDK_RETRIES = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}


@pytest.mark.parametrize("name", ["ab", "pcluster-vlab1-project1", "A1-b2", "a" * 60])
def test_valid_names_pass(name):
    assert common.cluster_name_error(name) is None


@pytest.mark.parametrize("name, why", [
    ("1abc", "start with a letter"), ("-abc", "start with a letter"), ("ab_c", "letters, digits and hyphens"),
    ("ab.c", "letters, digits and hyphens"), ("a", "2 to 60"), ("", "2 to 60"), ("a" * 61, "at most 60"),
])
def test_invalid_names_say_why(name, why):
    error = common.cluster_name_error(name)
    assert error.startswith("name: ") and why in error


def test_slurm_accounting_limits_names_to_40():
    assert common.uses_slurm_accounting(ACCOUNTING)
    assert common.cluster_name_error("a" * 40, slurm_accounting=True) is None
    error = common.cluster_name_error("a" * 41, slurm_accounting=True)
    assert "at most 40" in error and "Slurm accounting" in error


@pytest.mark.parametrize("config", [
    None, {}, {"Scheduling": "slurm"}, {"Scheduling": {"SlurmSettings": {}}}, {"Scheduling": {"SlurmSettings": None}},
])
def test_no_slurm_accounting(config):
    assert not common.uses_slurm_accounting(config)


def test_external_slurmdbd_is_slurm_accounting():
    assert common.uses_slurm_accounting({"Scheduling": {"SlurmSettings": {"ExternalSlurmdbd": {"Host": "h"}}}})


def test_schema_errors_become_field_paths():
    messages = {"HeadNode": {"Networking": {"SecurityGroups": ["Not a valid list."]}},
                "Scheduling": {"SlurmQueues": {0: {"ComputeResources": {1: {"MaxCount": ["Not a valid integer."]}}}}},
                "Bogus": ["Unknown field."]}
    assert common.schema_error_lines(messages) == [
        "Bogus: Unknown field.",
        "HeadNode.Networking.SecurityGroups: Not a valid list.",
        "Scheduling.SlurmQueues[0].ComputeResources[1].MaxCount: Not a valid integer.",
    ]


def test_schema_errors_without_a_field():
    assert common.schema_error_lines(["Invalid input type."]) == ["config: Invalid input type."]
    assert common.schema_error_lines({"_schema": [{"x": ["bad"]}]}) == ["_schema.x: bad"]


def test_environment_from_keys_drops_an_inherited_profile():
    to_set, to_unset = common.aws_environment("eu-west-1", "http://127.0.0.1:5000", {
        "aws_access_key_id": "AK", "aws_secret_access_key": "SK", "aws_session_token": None, "verify": None})
    assert to_set == {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
                      "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", **SDK_RETRIES}
    assert to_unset == ["AWS_PROFILE", "AWS_SESSION_TOKEN"]


def test_environment_from_a_profile_drops_inherited_keys():
    to_set, to_unset = common.aws_environment("us-east-1", None, {"profile_name": "hpc", "verify": "/etc/ca.pem"})
    assert to_set == {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_PROFILE": "hpc",
                      "AWS_CA_BUNDLE": "/etc/ca.pem", **SDK_RETRIES}
    assert "AWS_ACCESS_KEY_ID" in to_unset and "AWS_SESSION_TOKEN" in to_unset


def test_environment_without_credentials_keeps_the_inherited_ones():
    to_set, to_unset = common.aws_environment("us-east-1", None, {"verify": True})
    assert to_set == {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", **SDK_RETRIES} and to_unset == []


def test_tag_filters_ignore_unset_values():
    tags = {common.COST_TAG_VLAB: "v1", common.COST_TAG_PROJECT: "p1"}
    assert tags_match(tags, {common.COST_TAG_VLAB: "v1", common.COST_TAG_PROJECT: None})
    assert not tags_match(tags, {common.COST_TAG_VLAB: "v2"})
    assert not tags_match({}, {common.COST_TAG_PROJECT: "p1"})
