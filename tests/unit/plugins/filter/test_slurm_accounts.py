"""The filter slurm_accounts_missing: what the slurm_accounting role adds to a cluster's account tree."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.filter.slurm_accounts import FilterModule, slurm_accounts_missing

NOTHING = {"vlabs": [], "projects": [], "users": []}


def test_an_empty_cluster_gets_the_whole_tree():
    projects = [{"vlab_id": "vlab01", "project_id": "proj01", "users": ["sim", "alice"]},
                {"vlab_id": "vlab01", "project_id": "proj02", "users": ["bob"]}]
    assert slurm_accounts_missing(["root||"], projects) == {
        "vlabs": ["vlab01"],
        "projects": [{"vlab": "vlab01", "project": "proj01"}, {"vlab": "vlab01", "project": "proj02"}],
        "users": [{"project": "proj01", "user": "sim"}, {"project": "proj01", "user": "alice"},
                  {"project": "proj02", "user": "bob"}],
    }


def test_a_complete_tree_needs_nothing():
    lines = ["root||", "root|root|", "vlab01||root", "proj01||vlab01", "proj01|alice|", "proj01|sim|"]
    assert slurm_accounts_missing(lines, [{"vlab_id": "vlab01", "project_id": "proj01", "users": ["sim", "alice"]}]) == NOTHING


def test_only_what_is_missing_is_listed():
    lines = ["root||", "vlab01||root", "proj01||vlab01", "proj01|alice|"]
    projects = [{"vlab_id": "vlab01", "project_id": "proj01", "users": ["alice", "sim"]},
                {"vlab_id": "vlab02", "project_id": "proj03", "users": []}]
    assert slurm_accounts_missing(lines, projects) == {
        "vlabs": ["vlab02"], "projects": [{"vlab": "vlab02", "project": "proj03"}],
        "users": [{"project": "proj01", "user": "sim"}]}


def test_accounts_are_the_lower_cased_ids_and_a_vlab_is_listed_once():
    projects = [{"vlab_id": "VLab-A", "project_id": "P1"}, {"vlab_id": "vlab-a", "project_id": "P2", "users": ["u1"]}]
    assert slurm_accounts_missing([], projects) == {
        "vlabs": ["vlab-a"],
        "projects": [{"vlab": "vlab-a", "project": "p1"}, {"vlab": "vlab-a", "project": "p2"}],
        "users": [{"project": "p2", "user": "u1"}]}


def test_a_user_of_another_account_is_not_a_member():
    lines = ["vlab01||root", "proj01||vlab01", "proj02||vlab01", "proj02|alice|"]
    missing = slurm_accounts_missing(lines, [{"vlab_id": "vlab01", "project_id": "proj01", "users": ["alice"]}])
    assert missing == {"vlabs": [], "projects": [], "users": [{"project": "proj01", "user": "alice"}]}


def test_empty_lines_and_no_projects():
    assert slurm_accounts_missing(["", "root||", ""], []) == NOTHING
    assert slurm_accounts_missing([], [{"vlab_id": "v", "project_id": "p", "users": None}])["users"] == []


@pytest.mark.parametrize("lines, projects, message", [
    ("root||", [], "the input must be the lines sacctmgr printed"),
    ([], ["vlab01/proj01"], "each project needs vlab_id and project_id, got 'vlab01/proj01'"),
    ([], [{"vlab_id": "vlab01"}], "each project needs vlab_id and project_id"),
])
def test_bad_input_is_refused(lines, projects, message):
    with pytest.raises(AnsibleFilterError, match=message):
        slurm_accounts_missing(lines, projects)


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"slurm_accounts_missing": slurm_accounts_missing}
