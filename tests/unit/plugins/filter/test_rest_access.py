"""Unit tests of the rest_access_error and rest_ingress_rules filters (their rules is module_utils/jwks.py's, tested in test_jwks.py)."""
# pylint: disable=missing-function-docstring  # test names say what they check

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.filter.rest_access import FilterModule

rest_access_error = FilterModule().filters()["rest_access_error"]


def test_accepted():
    assert rest_access_error(["10.0.0.0/16"]) is None
    assert rest_access_error([], ["sg-0123456789abcdef0"]) is None


def test_refused_with_field_names():
    assert rest_access_error(None).startswith("allowed_cidrs or allowed_security_groups is required")
    assert rest_access_error(["0.0.0.0/0"], [], "hpc_slurm_rest_allowed_cidrs").startswith(
        "hpc_slurm_rest_allowed_cidrs: '0.0.0.0/0' opens slurmrestd to the whole internet")


def test_not_a_list():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        rest_access_error({"cidr": "10.0.0.0/16"})


def test_rs256_jwks_filter():
    rs256_jwks = FilterModule().filters()["rs256_jwks"]
    with pytest.raises(AnsibleFilterError, match="^slurm_rest_jwks: has no RS256 signing key"):
        rs256_jwks({"keys": []}, "slurm_rest_jwks")


def test_rest_ingress_rules_one_port_per_source_kind():
    rest_ingress_rules = FilterModule().filters()["rest_ingress_rules"]
    rules = rest_ingress_rules(["10.1.0.0/16", "2001:db8::/32", "10.2.0.0/24"], ["sg-0123456789abcdef0"], "6820")
    assert [{k: v for k, v in rule.items() if k != "rule_desc"} for rule in rules] == [
        {"proto": "tcp", "ports": [6820], "cidr_ip": ["10.1.0.0/16", "10.2.0.0/24"]},
        {"proto": "tcp", "ports": [6820], "cidr_ipv6": ["2001:db8::/32"]},
        {"proto": "tcp", "ports": [6820], "group_id": "sg-0123456789abcdef0"}]
    assert rest_ingress_rules([], ["sg-0123456789abcdef0"], 7000)[0]["ports"] == [7000]
