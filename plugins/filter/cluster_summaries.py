# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's filter cluster_summaries: the list playbook's result, one entry per cluster of
obi.hpc_provisioner.pcluster_cluster_info, in the old provisioner's field names."""

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import COST_TAG_PROJECT
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import COST_TAG_VLAB


def cluster_summaries(clusters):
    """[{clusterName, clusterStatus, vlab_id, project_id}] of pcluster_cluster_info's ``clusters``, in their order; the
    ids are the cluster's cost tags (None when a tag is missing)."""
    summaries = []
    for cluster in clusters or []:
        tags = cluster.get("tags") or {}
        summaries.append({"clusterName": cluster.get("cluster_name"), "clusterStatus": cluster.get("cluster_status"),
                          "vlab_id": tags.get(COST_TAG_VLAB), "project_id": tags.get(COST_TAG_PROJECT)})
    return summaries


class FilterModule:
    """The list playbook's filter."""

    def filters(self):
        return {"cluster_summaries": cluster_summaries}
