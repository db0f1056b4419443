#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: pcluster_cluster_info
version_added: 0.1.0
short_description: Describe one AWS ParallelCluster cluster, or list clusters
description:
  - With O(name), describes that cluster with the fields of pcluster's C(describe-cluster) (snake_case), plus the
    CloudFormation outputs of its stack.
  - Without O(name), lists the clusters of the region, reading every page, with the fields of pcluster's
    C(list-clusters) plus tags and times, filtered by O(cluster_status), O(vlab_id) and O(project_id).
  - Reads with boto3 what pcluster reads (the cluster's CloudFormation stack, its head node's EC2 instance, the
    compute fleet status in DynamoDB) without importing the pcluster library, which is several times faster than
    C(pcluster describe-cluster).
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  name:
    description:
      - The cluster to describe. Without it, all clusters are listed.
    type: str
    aliases: [cluster_name]
  cluster_status:
    description:
      - Only clusters in one of these cluster statuses (as pcluster reports them).
    type: list
    elements: str
    choices: [CREATE_IN_PROGRESS, CREATE_FAILED, CREATE_COMPLETE, DELETE_IN_PROGRESS, DELETE_FAILED,
              UPDATE_IN_PROGRESS, UPDATE_COMPLETE, UPDATE_FAILED]
  vlab_id:
    description:
      - Only clusters whose C(obp:costcenter:vlabid) tag has this value.
    type: str
  project_id:
    description:
      - Only clusters whose C(obp:costcenter:project) tag has this value.
    type: str
  key_names:
    description:
      - Also read these EC2 key pairs (those that exist) and where their private keys are kept, as
        M(obi.hpc_provisioner.vlab_keypair_info) does (without its search for orphan secrets); returned as
        RV(key_pairs).
      - For a describe that needs the cluster and its access keys in one module run (one process, one set of imports).
    type: list
    elements: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Describe a project's cluster
  obi.hpc_provisioner.pcluster_cluster_info:
    name: pcluster-vlab1-project1
  register: described

- name: Show its status and head node
  ansible.builtin.debug:
    msg: "{{ described.clusters[0].cluster_status }} {{ described.clusters[0].head_node.private_ip_address }}"
  when: described.clusters | length > 0

- name: Describe a cluster and the key pairs that reach it (the ARNs of their private keys' secrets)
  obi.hpc_provisioner.pcluster_cluster_info:
    name: pcluster-vlab1-project1
    key_names: [pcluster-vlab1-project1, pcluster-vlab1-project1_sim]
  register: described
- name: List the clusters of a virtual lab that are up
  obi.hpc_provisioner.pcluster_cluster_info:
    vlab_id: vlab1
    cluster_status: [CREATE_COMPLETE, UPDATE_COMPLETE]
  register: listed
"""

RETURN = r"""
clusters:
  description:
    - The described cluster (none when it does not exist), or the listed clusters.
    - Listed clusters have the keys marked C(always); a described cluster has all of them.
  returned: always
  type: list
  elements: dict
  contains:
    cluster_name:
      description: The cluster's name.
      returned: always
      type: str
      sample: pcluster-vlab1-project1
    cluster_status:
      description: pcluster's cluster status (C(CREATE_FAILED) also for a rolled-back create).
      returned: always
      type: str
      sample: CREATE_COMPLETE
    cloudformation_stack_status:
      description: The status of the cluster's CloudFormation stack.
      returned: always
      type: str
      sample: CREATE_COMPLETE
    cloudformation_stack_arn:
      description: The stack's ARN.
      returned: always
      type: str
    region:
      description: The AWS region.
      returned: always
      type: str
      sample: us-east-1
    version:
      description: The ParallelCluster version that made the cluster.
      returned: always
      type: str
      sample: 3.16.1
    scheduler:
      description: "The scheduler, as C({type: slurm})."
      returned: always
      type: dict
    tags:
      description: The cluster's tags (those of its stack), as a dictionary.
      returned: always
      type: dict
      sample: {"obp:costcenter:vlabid": vlab1, "obp:costcenter:project": project1}
    creation_time:
      description: When the cluster was created (ISO 8601, UTC).
      returned: always
      type: str
      sample: "2025-11-21T05:43:49.516Z"
    last_updated_time:
      description: When the cluster was last updated (its creation time if never).
      returned: always
      type: str
    compute_fleet_status:
      description: The compute fleet status (C(RUNNING), C(STOPPED), ...; C(UNKNOWN) while the stack is not settled).
      returned: when described
      type: str
      sample: RUNNING
    head_node:
      description: The head node's instance, when there is one.
      returned: when described and the head node exists
      type: dict
      contains:
        instance_id:
          description: The EC2 instance id.
          type: str
        instance_type:
          description: The instance type.
          type: str
        private_ip_address:
          description: The private IP address.
          type: str
        public_ip_address:
          description: The public IP address, if any.
          type: str
        state:
          description: The instance state (C(running), ...).
          type: str
        launch_time:
          description: When the instance was launched.
          type: str
    outputs:
      description: The outputs of the cluster's CloudFormation stack, by output key.
      returned: when described
      type: dict
    cluster_configuration:
      description: A presigned URL (valid one hour) of the configuration pcluster stored for the cluster.
      returned: when described
      type: dict
      sample: {url: "https://parallelcluster-....s3.amazonaws.com/.../cluster-config.yaml?..."}
    failures:
      description: pcluster's failure code and reason, for a cluster whose creation failed.
      returned: when described and the cluster is CREATE_FAILED
      type: list
      elements: dict
      sample: [{failure_code: OnNodeConfiguredExecutionFailure, failure_reason: Failed to execute OnNodeConfigured script.}]
key_pairs:
  description:
    - The key pairs of O(key_names) that exist, sorted by name, with where their private keys are kept (never the
      keys), as the elements of RV(obi.hpc_provisioner.vlab_keypair_info#module:key_pairs) are (C(key_name),
      C(key_pair_id), C(key_type), C(public_key), C(key_fingerprint), C(create_time), C(tags), and C(secret) with
      C(store), C(name), C(exists) and, when it exists, C(arn), C(description), C(kms_key_id), C(deleted_date) and
      C(tags)).
  returned: when O(key_names) is given
  type: list
  elements: dict
  sample:
    - key_name: pcluster-vlab1-project1_sim
      key_pair_id: key-0123456789abcdef0
      secret:
        store: secretsmanager
        name: pcluster-vlab1-project1_sim
        exists: true
        arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:pcluster-vlab1-project1_sim-AbCdEf
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import COST_TAG_PROJECT
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import COST_TAG_VLAB
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import apply_aws_environment
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import ClusterReader
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import summary_matches

CLUSTER_STATUSES = ["CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED",
                    "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED"]


def main():
    argument_spec = dict(
        name=dict(type="str", aliases=["cluster_name"]),
        cluster_status=dict(type="list", elements="str", choices=CLUSTER_STATUSES),
        vlab_id=dict(type="str"),
        project_id=dict(type="str"),
        key_names=dict(type="list", elements="str", no_log=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    name = module.params["name"]
    if name is not None and cluster_name_error(name):
        module.fail_json(msg=cluster_name_error(name))
    reader = ClusterReader(module, apply_aws_environment(module))
    statuses = module.params["cluster_status"]
    tags = {COST_TAG_VLAB: module.params["vlab_id"], COST_TAG_PROJECT: module.params["project_id"]}
    try:
        if name is None:
            clusters = reader.list_clusters(statuses, tags)
        else:
            described = reader.describe(name)
            clusters = [described] if described and summary_matches(described, statuses, tags) else []
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot read cluster {name}" if name else "Cannot list clusters")
    result = dict(changed=False, clusters=clusters)
    if module.params["key_names"] is not None:  # an empty list reads none (KeyPairs.search without names reads all)
        # Imported here: a list or a describe without key pairs does not load them (nor cryptography).
        from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair_api import KeypairAWSError  # pylint: disable=import-outside-toplevel
        from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair_api import KeypairInventory  # pylint: disable=import-outside-toplevel

        try:
            result["key_pairs"] = KeypairInventory(module).key_pairs_with_secrets(module.params["key_names"]) \
                if module.params["key_names"] else []
        except KeypairAWSError as error:
            module.fail_json_aws(error.exception, msg=error.message)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
