#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: slurm_health_info
version_added: 0.2.0
short_description: Check that a project's cluster runs jobs (a heartbeat)
description:
  - Reads the partitions and their nodes by state (C(sinfo), or the REST API's partitions and nodes) and, with
    O(srun), runs a one-task job under the project's account (C(srun hostname) over SSH; a one-task batch job over
    REST, waited for up to 60 s).
  - RV(healthy) is true when a partition is up, a node can run jobs (idle, mixed, allocated or completing) and the
    test job completed. An unreachable head node fails naming O(head_node_host).
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  srun:
    description: Also run the tiny job. Without it, and in check mode, the check only reads.
    type: bool
    default: true
extends_documentation_fragment:
  - obi.hpc_provisioner.head_node
  - obi.hpc_provisioner.head_node.transports
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Heartbeat
  obi.hpc_provisioner.slurm_health_info:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
  register: health
"""

RETURN = r"""
healthy:
  description: Whether the cluster can run the project's jobs now.
  returned: success
  type: bool
partitions:
  description: Each partition, its availability, node count and nodes by state.
  returned: success
  type: list
  elements: dict
  sample: [{name: debug, state: up, nodes: 1, nodes_by_state: {idle: 1}}]
nodes:
  description: The nodes and their states (REST transport only).
  returned: transport=rest
  type: list
  elements: dict
srun:
  description: The test job; C(rc) 0 when it completed, its output (the node's host name over SSH) and duration.
  returned: srun=true, not in check mode
  type: dict
  sample: {rc: 0, output: queue1-st-c5-1, seconds: 0.8}
fields:
  description: On failure, the options the message is about.
  returned: failure
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import operations
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_jobs


def check(module, jobs):
    detail = jobs.health(module.params["srun"] and not module.check_mode)  # a test job is a change
    return dict(detail, changed=False, healthy=slurm_jobs.health_verdict(detail))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(operations.argument_spec(transports=True), srun=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    operations.fail_on_errors(module, operations.request_errors(module.params))
    module.exit_json(**operations.run(module, check, slurm_jobs.jobs_for))


if __name__ == "__main__":
    main()
