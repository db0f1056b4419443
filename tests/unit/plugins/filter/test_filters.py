"""The collection's filter and test plugins: project_names, id_rule, cluster_summaries, cluster_resource_names,
owner_check, reference_check, cluster_config_errors and valid_id."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest
from ansible.errors import AnsibleError

from ansible_collections.obi.hpc_provisioner.plugins.filter import cluster_config_errors as config_errors_plugin
from ansible_collections.obi.hpc_provisioner.plugins.filter import cluster_summaries as summaries_plugin
from ansible_collections.obi.hpc_provisioner.plugins.filter import project_names as names_plugin
from ansible_collections.obi.hpc_provisioner.plugins.filter import request_checks as checks_plugin
from ansible_collections.obi.hpc_provisioner.plugins.test import valid_id as valid_id_plugin

FILTERS = dict(names_plugin.FilterModule().filters(), **summaries_plugin.FilterModule().filters())
TESTS = valid_id_plugin.TestModule().tests()


def test_project_names_refuses_a_bad_id_naming_it():
    with pytest.raises(AnsibleError, match="project_names: vlab_id: 'bad_id' is not valid: lower-case letters"):
        FILTERS["project_names"]("bad_id", "p")
    assert FILTERS["project_names"]("v", "p", "off", "")["cluster"] == "pcluster-v-p"


def test_valid_id_and_id_rule_say_the_same_rule():
    assert TESTS["valid_id"]("fs-0123456789abcdef0", "fsx_file_system_id")
    assert not TESTS["valid_id"]("fs-xyz", "fsx_file_system_id") and not TESTS["valid_id"](None, "subnet_id")
    assert FILTERS["id_rule"]("fsx_file_system_id") == "an FSx file system id (fs- and 8 to 18 hex digits)"
    for plugin, arguments in ((TESTS["valid_id"], ("x", "bucket")), (FILTERS["id_rule"], ("bucket",))):
        with pytest.raises(AnsibleError, match="no id rule 'bucket'"):
            plugin(*arguments)


def test_cluster_summaries_are_the_list_playbooks_fields():
    clusters = [
        {"cluster_name": "pcluster-v-p", "cluster_status": "CREATE_COMPLETE", "region": "us-east-1",
         "tags": {"obp:costcenter:vlabid": "v", "obp:costcenter:project": "p", "SBO_Billing": "hpc:parallelcluster"}},
        {"cluster_name": "other", "cluster_status": "DELETE_IN_PROGRESS", "tags": {}},
        {"cluster_name": "untagged", "cluster_status": "CREATE_FAILED"},
    ]
    assert FILTERS["cluster_summaries"](clusters) == [
        {"clusterName": "pcluster-v-p", "clusterStatus": "CREATE_COMPLETE", "vlab_id": "v", "project_id": "p"},
        {"clusterName": "other", "clusterStatus": "DELETE_IN_PROGRESS", "vlab_id": None, "project_id": None},
        {"clusterName": "untagged", "clusterStatus": "CREATE_FAILED", "vlab_id": None, "project_id": None},
    ]
    assert FILTERS["cluster_summaries"]([]) == [] and FILTERS["cluster_summaries"](None) == []


def test_cluster_resource_names_follow_the_cluster_and_the_prefix():
    assert FILTERS["cluster_resource_names"]("pcluster-v-p", "site/node/") == {
        "admin_key": "pcluster-v-p", "sim_key": "pcluster-v-p_sim", "rest_security_group": "pcluster-v-p-slurm-rest",
        "node_vars_key": "site/node/clusters/pcluster-v-p/node_vars.yml",
        "collection_key": "site/node/clusters/pcluster-v-p/collection.tar.gz",
        "host_key_key": "site/node/clusters/pcluster-v-p/host_keys/ssh_host_ed25519_key.pub",
        "pcluster_log_group_prefix": "/aws/parallelcluster/pcluster-v-p-"}


def test_owner_check_names_both_projects_of_a_collision():
    owner_check = checks_plugin.FilterModule().filters()["owner_check"]
    own = owner_check({"key": "key pair k", "value": {"obp:costcenter:vlabid": "v", "obp:costcenter:project": "p"}}, "v", "p")
    untagged = owner_check({"key": "cluster c", "value": [{"Key": "other", "Value": "x"}]}, "v", "p")
    foreign = owner_check({"key": "cluster c", "value": [{"Key": "obp:costcenter:project", "Value": "q"}]}, "v", "p")
    assert own["ok"] and untagged["ok"] and not foreign["ok"]
    assert foreign["message"] == ("cluster c belongs to vlab_id=v, project_id=q (its cost tags), not to this request's "
                                  "vlab_id=v, project_id=p: a name collision; nothing was changed")


def test_reference_check_finds_what_reference_info_missed():
    reference_check = checks_plugin.FilterModule().filters()["reference_check"]
    missing = [{"kind": "secret", "id": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]
    absent = reference_check({"field": "hpc_munge_key_secret_arn", "kind": "secret",
                              "id": "arn:aws:secretsmanager:us-east-1:1:secret:x"}, missing, "us-east-1")
    present = reference_check({"field": "hpc_home_efs_id", "kind": "efs_file_system", "id": "fs-1"}, missing, "us-east-1")
    assert present["ok"] and not absent["ok"]
    # check_inputs says: hpc_munge_key_secret_arn: "arn:...:secret:x" is not valid: no such secret in us-east-1
    assert absent == {"field": "hpc_munge_key_secret_arn", "value": "arn:aws:secretsmanager:us-east-1:1:secret:x",
                      "ok": False, "allowed": "no such secret in us-east-1"}


def test_cluster_config_errors_reads_yaml_text_and_names_each_field():
    errors = config_errors_plugin.FilterModule().filters()["cluster_config_errors"]
    assert errors("Bogus: 1\n", "pcluster-v-p")[0] == "Bogus: Unknown field."
    assert errors({"Bogus": 1}, "1bad")[0].startswith("name: ")
    with pytest.raises(AnsibleError, match="not valid YAML"):
        errors("a: [", "pcluster-v-p")
    with pytest.raises(AnsibleError, match="must be a dict, not list"):
        errors("- a\n", "pcluster-v-p")
