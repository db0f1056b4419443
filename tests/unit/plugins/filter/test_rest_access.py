"""Unit tests of the rest_access_error filter (its rule is module_utils/jwks.py's, tested in test_jwks.py)."""
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
