#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: slurm_job
version_added: 0.2.0
short_description: Submit or cancel a Slurm job on a project's cluster, under the project's account
description:
  - With O(state=submitted), submits a batch job, from O(script) (its text), O(command) (wrapped in a bash script) or
    O(script_path) (a script already in the project's scratch). The job always runs under the Slurm account of
    O(project_id), in O(work_dir) under the project's scratch directory (created when missing), and writes its
    output to C(<work_dir>/slurm-<job id>.out) and C(.err).
  - With O(state=cancelled), cancels the job O(job_id) after checking that it is the project's; a job that has ended
    already is left as it is (not changed).
  - Over SSH (O(transport=ssh)), every path is resolved on the head node and refused when it leaves the project's
    directory (also through a symbolic link); the head node's host key is verified against the published one.
  - Bad input (a path escaping the project, a missing script, an unknown job, another project's job, invalid sbatch
    options) fails naming the option (RV(fields)) before anything is submitted or cancelled.
  - Submitting is not idempotent, each run with O(state=submitted) submits a new job. In check mode nothing is
    submitted or cancelled; the paths and the job are checked all the same.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  state:
    description: C(submitted) submits a new job; C(cancelled) cancels O(job_id).
    type: str
    choices: [submitted, cancelled]
    default: submitted
  script:
    description: The batch script's text (C(#SBATCH) lines allowed; the account and output options are the module's).
    type: str
  command:
    description: A command line, run by bash as the job's script.
    type: str
  script_path:
    description: A script in the project's scratch directory, relative to it. Needs O(transport=ssh).
    type: str
  work_dir:
    description:
      - The job's working directory, relative to the project's scratch directory.
      - Over SSH it is created when missing; with O(transport=rest) it must exist (the REST API cannot make it, and
        Slurm fails a job whose directory is missing), and it is checked by its text only.
    type: str
    default: "."
  job_name:
    description: The job's name.
    type: str
  partition:
    description: The partition (queue). Default the cluster's default partition.
    type: str
  nodes:
    description: Number of nodes.
    type: int
  ntasks:
    description: Number of tasks.
    type: int
  time_limit:
    description: Slurm time limit (C(MM), C(HH:MM:SS), C(D-HH:MM), ...).
    type: str
  environment:
    description: Variables for the job (not C(PATH), C(LD_*), C(SLURM_*), C(SBATCH_*)).
    type: dict
  job_id:
    description: The job to cancel. Required with O(state=cancelled).
    type: int
extends_documentation_fragment:
  - obi.hpc_provisioner.head_node
  - obi.hpc_provisioner.head_node.transports
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Submit a simulation
  obi.hpc_provisioner.slurm_job:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
    script: |
      #!/bin/bash
      #SBATCH --cpus-per-task=2
      srun simulate --config run.json
    work_dir: runs/2026-12-07
    time_limit: "02:00:00"
  register: submitted

- name: Cancel it
  obi.hpc_provisioner.slurm_job:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
    state: cancelled
    job_id: "{{ submitted.job_id }}"
"""

RETURN = r"""
job_id:
  description: The job's id (none in check mode for a submit).
  returned: always
  type: int
  sample: 42
account:
  description: The Slurm account the job runs under (the project id).
  returned: always
  type: str
work_dir:
  description: The job's working directory on the cluster (absolute).
  returned: state=submitted
  type: str
stdout:
  description: The file of the job's standard output on the cluster.
  returned: state=submitted
  type: str
  sample: /obi/data/scratch/PROJECT/runs/slurm-42.out
stderr:
  description: The file of the job's standard error on the cluster.
  returned: state=submitted
  type: str
job:
  description: The job as read before a cancel (the fields of M(obi.hpc_provisioner.slurm_job_info)'s RV(job)).
  returned: state=cancelled
  type: dict
fields:
  description: On failure, the options the message is about.
  returned: failure
  type: list
  elements: str
  sample: [work_dir]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import operations
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_paths
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_cli
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_jobs


def submit(module, jobs):
    params = module.params
    work_dir, script_file = jobs.prepare()
    result = {"changed": True, "account": params["project_id"], "work_dir": work_dir, "job_id": None,
              "stdout": None, "stderr": None}
    if module.check_mode:
        return result
    job_id = jobs.submit(work_dir, script_file)
    return dict(result, job_id=job_id, stdout=f"{work_dir}/slurm-{job_id}.out", stderr=f"{work_dir}/slurm-{job_id}.err")


def cancel(module, jobs):
    params = module.params
    job = slurm_jobs.owned(jobs.job(params["job_id"]), params["job_id"], params["project_id"])
    result = {"changed": False, "job_id": params["job_id"], "account": job["account"], "job": job}
    if job["state"] in slurm_cli.ENDED_STATES:
        return result
    if not module.check_mode:
        jobs.cancel(params["job_id"])
    return dict(result, changed=True)


def request_errors(params):
    errors = operations.request_errors(params) + slurm_cli.submit_errors(params)
    for field in ("work_dir", "script_path"):
        error = params.get(field) is not None and project_paths.relative_path_error(params[field], field)
        if error:
            errors.append((field, error))
    if params["state"] == "submitted" and not any(params.get(f) for f in ("script", "command", "script_path")):
        errors.append(("script", "state=submitted needs one of script, command or script_path"))
    return errors


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            operations.argument_spec(transports=True),
            state=dict(type="str", choices=["submitted", "cancelled"], default="submitted"),
            script=dict(type="str"),
            command=dict(type="str"),
            script_path=dict(type="str"),
            work_dir=dict(type="str", default="."),
            job_name=dict(type="str"),
            partition=dict(type="str"),
            nodes=dict(type="int"),
            ntasks=dict(type="int"),
            time_limit=dict(type="str"),
            environment=dict(type="dict"),
            job_id=dict(type="int"),
        ),
        mutually_exclusive=[("script", "command", "script_path")],
        required_if=[("state", "cancelled", ["job_id"])],
        supports_check_mode=True,
    )
    operations.fail_on_errors(module, request_errors(module.params))
    action = submit if module.params["state"] == "submitted" else cancel
    module.exit_json(**operations.run(module, action, slurm_jobs.jobs_for))


if __name__ == "__main__":
    main()
