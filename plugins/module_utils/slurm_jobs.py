# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Submit, read and cancel one project's Slurm jobs over either transport: SSH (Slurm's commands on the head node,
slurm_cli) or the Slurm REST API (slurm_rest_api). The modules slurm_job, slurm_job_info and slurm_health_info use
one of the two classes here, chosen by ``transport``; both answer in the same shapes.
"""

import posixpath
import time

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_paths
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_cli
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import waiting
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_cli import RequestError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_rest_api import SlurmRest
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_rest_api import SlurmRestError

HEALTH_JOB_TIMEOUT = 60


def _minutes(time_limit):
    """Minutes of a Slurm time string (started minutes count), for the REST API, which takes a number."""
    if time_limit is None or time_limit in ("UNLIMITED", "INFINITE"):
        return None
    days, clock = time_limit.split("-", 1) if "-" in time_limit else ("0", time_limit)
    parts = [int(part) for part in clock.split(":")]
    if "-" in time_limit:  # D-HH[:MM[:SS]]
        hours, minutes, seconds = (parts + [0, 0])[:3]
    elif len(parts) == 3:  # HH:MM:SS
        hours, minutes, seconds = parts
    else:  # MM or MM:SS
        hours, minutes, seconds = 0, parts[0], (parts + [0])[1]
    return int(days) * 1440 + hours * 60 + minutes + (1 if seconds else 0)


def owned(job, job_id, project_id):
    """The job when it exists and is the project's; else a RequestError naming job_id."""
    if job is None:
        raise RequestError("job_id", f"job_id {job_id}: no such job on this cluster")
    if (job.get("account") or "").lower() != project_id.lower():
        raise RequestError("job_id", f"job_id {job_id} is not a job of project {project_id}: refused")
    return job


class SshJobs:
    """Jobs through Slurm's commands on the head node (a connected HeadNode)."""

    def __init__(self, node, params):
        self.node, self.params = node, params
        self.scratch = project_paths.area_dir(params["mount_dir"], "scratch", params["project_id"])

    def prepare(self):
        """Check the request's paths on the head node: (work_dir, script file or None), absolute."""
        params = self.params
        asked = [project_paths.join(self.scratch, params.get("work_dir") or ".", "work_dir")]
        work_dir, = project_paths.confine(self.node, self.scratch, asked, "work_dir")[1]
        script_file = None
        if params.get("script_path"):
            asked = [project_paths.join(self.scratch, params["script_path"], "script_path")]
            script_file, = project_paths.confine(self.node, self.scratch, asked, "script_path")[1]
            if self.node.run(["test", "-f", script_file, "-a", "-r", script_file])[0] != 0:
                raise RequestError("script_path", f"script_path {params['script_path']!r}: no such readable file in"
                                                  f" the project's scratch ({script_file})")
        return work_dir, script_file

    def submit(self, work_dir, script_file):
        params = self.params
        status, _out, err = self.node.run(["mkdir", "-p", "--", work_dir])
        if status != 0:
            raise RequestError("work_dir", f"cannot create work_dir {work_dir}: {err.strip()[:300]}")
        argv = slurm_cli.sbatch_argv(params, params["project_id"], work_dir, script_file)
        stdin = None if script_file else slurm_cli.batch_script(params.get("script"), params.get("command"))
        status, out, err = self.node.run(argv, stdin=stdin)
        if status != 0:
            field = "script_path" if script_file else "script"
            raise RequestError(field, f"sbatch refused the job: {err.strip()[:500]}")
        return slurm_cli.parsed_job_id(out)

    def job(self, job_id):
        return slurm_cli.read_job(self.node, job_id)

    def cancel(self, job_id):
        status, _out, err = self.node.run(["scancel", str(job_id)])
        if status != 0:
            raise RequestError("job_id", f"scancel {job_id} failed: {err.strip()[:300]}")

    def health(self, srun):
        status, out, err = self.node.run(["sinfo", "--noheader", "--format=%R|%a|%D|%T"])
        if status != 0:
            raise RequestError("head_node_host", f"sinfo failed on the head node: {err.strip()[:300]}")
        detail = {"partitions": slurm_cli.sinfo_partitions(out)}
        if srun:
            started = time.monotonic()
            status, out, err = self.node.run(
                ["timeout", str(HEALTH_JOB_TIMEOUT), "srun", f"--account={self.params['project_id']}", "--nodes=1",
                 "--ntasks=1", "--time=1", "--quiet", "hostname"], timeout=HEALTH_JOB_TIMEOUT + 10)
            detail["srun"] = {"rc": status, "output": (out.strip() or err.strip())[:500],
                              "seconds": round(time.monotonic() - started, 3)}
        return detail


class RestJobs:
    """Jobs through the Slurm REST API with the user's token."""

    def __init__(self, params):
        self.params = params
        self.api = SlurmRest(params["rest_url"], params["rest_token"], version=params["rest_api_version"],
                             timeout=params["connect_timeout"] * 2)
        self.scratch = project_paths.area_dir(params["mount_dir"], "scratch", params["project_id"])

    def prepare(self):
        """The work_dir, checked by its text only (the REST API cannot resolve links: the job runs as the token's
        user, with that user's rights); script_path needs SSH."""
        if self.params.get("script_path"):
            raise RequestError("script_path", "script_path needs transport ssh (the REST API takes the script's text)")
        return project_paths.join(self.scratch, self.params.get("work_dir") or ".", "work_dir"), None

    def submit(self, work_dir, _script_file):
        params = self.params
        output = posixpath.join(work_dir, slurm_cli.OUTPUT_NAME)
        job = {"name": params.get("job_name") or "job", "account": params["project_id"],
               "partition": params.get("partition"), "nodes": params.get("nodes"), "tasks": params.get("ntasks"),
               "time_limit": _minutes(params.get("time_limit")), "current_working_directory": work_dir,
               "standard_output": output + ".out", "standard_error": output + ".err",
               "environment": params.get("environment") or {}}
        return self.api.submit(slurm_cli.batch_script(params.get("script"), params.get("command")), job)

    def job(self, job_id):
        try:
            return self.api.job(job_id)
        except SlurmRestError as error:
            if error.field == "job_id":
                return None
            raise

    def cancel(self, job_id):
        self.api.cancel(job_id)

    def health(self, srun):
        detail = {"partitions": self.api.partitions(), "nodes": self.api.nodes()}
        if srun:
            started = time.monotonic()
            job_id = self.api.submit(
                "#!/bin/sh\nhostname\n", {"name": "health", "account": self.params["project_id"], "nodes": 1,
                                          "tasks": 1, "time_limit": 1, "current_working_directory": "/tmp",
                                          "standard_output": "/dev/null", "standard_error": "/dev/null"})
            job = wait_ended(self, job_id, HEALTH_JOB_TIMEOUT)
            detail["srun"] = {"rc": 0 if job and job["state"] == "COMPLETED" else 1, "job_id": job_id,
                              "state": job and job["state"], "seconds": round(time.monotonic() - started, 3)}
        return detail


def wait_ended(jobs, job_id, timeout):
    """The job's record once it has ended, or the last one read after ``timeout`` seconds (the collection's polling
    with backoff, pauses up to 5 s)."""
    try:
        return waiting.Deadline(timeout).until(lambda: jobs.job(job_id),
                                               lambda job: job and job["state"] in slurm_cli.ENDED_STATES,
                                               f"job {job_id} to end", 5)
    except waiting.WaitTimeout as timed_out:
        return timed_out.last


def jobs_for(module, node):
    """The transport's jobs object: RestJobs, or SshJobs on ``node`` (a connected HeadNode)."""
    if module.params.get("transport") == "rest":
        return RestJobs(module.params)
    return SshJobs(node, module.params)


USABLE_NODE_STATES = ("idle", "mixed", "allocated", "completing")


def health_verdict(detail):
    """Healthy: a partition up, a node that can run jobs, and the test job (when run) completed."""
    up = [p for p in detail["partitions"] if str(p.get("state", "")).lower() == "up"]
    states = [state for p in up for state in p.get("nodes_by_state", {})]
    states += [str(node.get("state", "")) for node in detail.get("nodes", [])]
    usable = any(state.lower().startswith(USABLE_NODE_STATES) for state in states)
    srun = detail.get("srun")
    return bool(up) and usable and (srun is None or srun["rc"] == 0)
