#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: slurm_job_info
version_added: 0.2.0
short_description: Read the state of one of a project's Slurm jobs
description:
  - Reads the job O(job_id) from the Slurm controller while it knows the job (C(scontrol show job)), else from the
    accounting database (C(sacct)), or from the Slurm REST API with O(transport=rest).
  - Fails naming O(job_id) when the job is unknown or runs under another project's account; a project cannot read
    another project's jobs.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  job_id:
    description: The job.
    type: int
    required: true
extends_documentation_fragment:
  - obi.hpc_provisioner.head_node
  - obi.hpc_provisioner.head_node.transports
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Wait until the job has ended
  obi.hpc_provisioner.slurm_job_info:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
    job_id: 42
  register: status
  until: status.ended
  retries: 60
  delay: 10
"""

RETURN = r"""
job:
  description: The job.
  returned: success
  type: dict
  contains:
    job_id: {description: The job's id., type: int}
    name: {description: The job's name., type: str}
    state: {description: "Slurm's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...", type: str}
    exit_code: {description: "Exit code and signal as Slurm prints them (C(0:0)).", type: str}
    start_time: {description: "Start time (ISO 8601, the cluster's time zone); none before it starts.", type: str}
    end_time: {description: "End time; none until it ends.", type: str}
    nodes: {description: The nodes it ran on., type: str}
    account: {description: Its Slurm account (the project id)., type: str}
    work_dir: {description: Its working directory., type: str}
    stdout: {description: The file of its standard output., type: str}
    stderr: {description: The file of its standard error., type: str}
ended:
  description: Whether the job has ended (any final state).
  returned: success
  type: bool
fields:
  description: On failure, the options the message is about.
  returned: failure
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import operations
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_cli
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_jobs


def read(module, jobs):
    params = module.params
    job = slurm_jobs.owned(jobs.job(params["job_id"]), params["job_id"], params["project_id"])
    return {"changed": False, "job": job, "ended": job["state"] in slurm_cli.ENDED_STATES}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(operations.argument_spec(transports=True), job_id=dict(type="int", required=True)),
        supports_check_mode=True,
    )
    operations.fail_on_errors(module, operations.request_errors(module.params))
    module.exit_json(**operations.run(module, read, slurm_jobs.jobs_for))


if __name__ == "__main__":
    main()
