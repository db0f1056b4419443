# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter cluster_config_errors: a ParallelCluster configuration checked against pcluster's own schema, offline.

The cluster_config role checks what it rendered before any AWS write. A filter runs in the controller's worker
process: no module process to start (which would import Python, ansible and boto3 again), and pcluster's schema is
imported only when the filter is called (pcluster_library.schema_errors). Given the YAML text, it parses it into
plain Python values; a dict of the play's is walked as Ansible's lazily templated containers, several times slower.
"""

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import PclusterFailure
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import uses_slurm_accounting
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_library import schema_errors


def cluster_config_errors(config, cluster_name):
    if isinstance(config, str):
        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError as error:
            raise AnsibleFilterError(f"cluster_config_errors: the configuration is not valid YAML: {error}") from None
    if not isinstance(config, dict):
        raise AnsibleFilterError(f"cluster_config_errors: the configuration must be a dict, not {type(config).__name__}")
    name_error = cluster_name_error(cluster_name, uses_slurm_accounting(config))
    try:
        return ([name_error] if name_error else []) + schema_errors(cluster_name, config)
    except PclusterFailure as failure:
        raise AnsibleFilterError(f"cluster_config_errors: {failure.message}") from None


class FilterModule:
    """The cluster_config role's schema check."""

    def filters(self):
        return {"cluster_config_errors": cluster_config_errors}
