"""The collection's filter and test plugins: project_names, id_rule, cluster_summaries and valid_id."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest
from ansible.errors import AnsibleError

from ansible_collections.obi.hpc_provisioner.plugins.filter import cluster_summaries as summaries_plugin
from ansible_collections.obi.hpc_provisioner.plugins.filter import project_names as names_plugin
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
