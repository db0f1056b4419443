# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Slurm's command line over SSH: the sbatch command of a request, and job records read back from scontrol or sacct.

Every job runs under the project's account (the project id); its output goes to ``<work_dir>/slurm-<job id>.out`` and
``.err``, so that a job's output can be found again after the controller has forgotten the job (sacct keeps WorkDir).
"""

import re

# Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]].
TIME_LIMIT = re.compile(r"(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+(:\d{1,2}(:\d{1,2})?)?|UNLIMITED|INFINITE)")
PARTITION = re.compile(r"[A-Za-z0-9_.-]{1,64}")
JOB_NAME = re.compile(r"[^\n\r\0]{1,200}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Variables a job may not set: they would change what runs or where it is accounted.
RESERVED_ENV = re.compile(r"(SLURM_.*|SBATCH_.*|PATH|LD_PRELOAD|LD_LIBRARY_PATH)")
OUTPUT_NAME = "slurm-%j"
ENDED_STATES = ("BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
                "PREEMPTED", "TIMEOUT")
NO_TIME = ("", "Unknown", "None", "N/A")
SACCT_FIELDS = ("JobID", "JobName", "State", "ExitCode", "Start", "End", "NodeList", "Account", "WorkDir")


class RequestError(Exception):
    """A request Slurm would not run as asked; ``field`` names the option."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def submit_errors(params):
    """[(field, message)] of the sbatch options of a submit request."""
    errors = []
    checks = (("job_name", JOB_NAME, "one line of at most 200 characters"),
              ("partition", PARTITION, "letters, digits, '_', '.', '-'"),
              ("time_limit", TIME_LIMIT, "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED"))
    for field, pattern, rule in checks:
        value = params.get(field)
        if value is not None and not pattern.fullmatch(str(value)):
            errors.append((field, f"{field} {value!r} is not valid: {rule}"))
    for field in ("nodes", "ntasks"):
        value = params.get(field)
        if value is not None and value < 1:
            errors.append((field, f"{field} must be at least 1, not {value}"))
    for name in params.get("environment") or {}:
        if not ENV_NAME.fullmatch(name) or RESERVED_ENV.fullmatch(name):
            errors.append(("environment", f"environment variable {name!r} may not be set: a shell name, not PATH,"
                                          " LD_* or SLURM_*/SBATCH_*"))
    return errors


def batch_script(script=None, command=None):
    """The batch script of a request: its script, or its command in a bash script."""
    if script is not None:
        return script if script.endswith("\n") else script + "\n"
    return "#!/bin/bash\n" + command + "\n"


def sbatch_argv(params, account, work_dir, script_file=None):
    """The command line that submits the request (the script on stdin unless ``script_file``).

    The environment goes through ``env`` before sbatch (sbatch exports it), not through ``--export``, whose commas
    would split values.
    """
    argv = ["env"] + [f"{name}={value}" for name, value in sorted((params.get("environment") or {}).items())]
    argv += ["sbatch", "--parsable", f"--account={account}", f"--chdir={work_dir}",
             f"--output={work_dir}/{OUTPUT_NAME}.out", f"--error={work_dir}/{OUTPUT_NAME}.err"]
    options = (("job_name", "--job-name"), ("partition", "--partition"), ("nodes", "--nodes"),
               ("ntasks", "--ntasks"), ("time_limit", "--time"))
    argv += [f"{flag}={params[field]}" for field, flag in options if params.get(field) is not None]
    if script_file:
        argv.append(script_file)
    return argv


def parsed_job_id(output):
    """The job id sbatch --parsable printed (``id`` or ``id;cluster``)."""
    first = output.strip().split(";", 1)[0]
    if not first.isdigit():
        raise RequestError("script", f"sbatch printed no job id: {output.strip()[:200]!r}")
    return int(first)


def _time(value):
    return None if value in NO_TIME else value


def _state(value):
    return (value or "").split(" ", 1)[0]  # "CANCELLED by 2000" -> CANCELLED


def _outputs(work_dir, job_id):
    stem = f"{work_dir.rstrip('/')}/slurm-{job_id}" if work_dir else None
    return (stem + ".out", stem + ".err") if stem else (None, None)


def scontrol_fields(line):
    """{key: value} of one ``scontrol show job -o`` line (values may hold spaces: a key is a word before '=')."""
    return dict(re.findall(r"(?:^|\s)([A-Za-z][A-Za-z:/]*)=(.*?)(?=\s[A-Za-z][A-Za-z:/]*=|$)", line.strip()))


def job_from_scontrol(line):
    fields = scontrol_fields(line)
    job_id = int(fields["JobId"])
    return {"job_id": job_id, "name": fields.get("JobName"), "state": _state(fields.get("JobState")),
            "exit_code": fields.get("ExitCode"), "start_time": _time(fields.get("StartTime")),
            "end_time": _time(fields.get("EndTime")) if _state(fields.get("JobState")) in ENDED_STATES else None,
            "nodes": _time(fields.get("NodeList")), "account": fields.get("Account"),
            "work_dir": fields.get("WorkDir"), "stdout": fields.get("StdOut"), "stderr": fields.get("StdErr")}


def job_from_sacct(line):
    values = dict(zip(SACCT_FIELDS, line.split("|")))
    job_id = int(values["JobID"])
    stdout, stderr = _outputs(values.get("WorkDir"), job_id)
    return {"job_id": job_id, "name": values.get("JobName"), "state": _state(values.get("State")),
            "exit_code": values.get("ExitCode"), "start_time": _time(values.get("Start")),
            "end_time": _time(values.get("End")), "nodes": _time(values.get("NodeList")),
            "account": values.get("Account"), "work_dir": values.get("WorkDir"), "stdout": stdout, "stderr": stderr}


def read_job(node, job_id):
    """The job's record over SSH: the controller's (scontrol) while it has it, else the accounting's (sacct); None
    when neither knows the job."""
    status, out, _err = node.run(["scontrol", "show", "job", "-o", str(job_id)])
    if status == 0 and out.strip():
        return job_from_scontrol(out.splitlines()[0])
    status, out, err = node.run(["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={job_id}",
                                 "--format=" + ",".join(SACCT_FIELDS)])
    if status != 0:
        raise RequestError("job_id", f"sacct failed on the head node: {err.strip()[:300]}")
    lines = [line for line in out.splitlines() if line.split("|", 1)[0] == str(job_id)]
    return job_from_sacct(lines[0]) if lines else None


def sinfo_partitions(output):
    """[{name, state, nodes, nodes_by_state}] of ``sinfo --noheader --format=%R|%a|%D|%T`` lines."""
    partitions = {}
    for line in output.splitlines():
        if line.count("|") != 3:
            continue
        name, available, count, state = line.split("|")
        entry = partitions.setdefault(name, {"name": name, "state": available, "nodes": 0, "nodes_by_state": {}})
        entry["nodes"] += int(count)
        state = state.rstrip("*~#!%$@^-")  # sinfo's flags: not responding, powered down, ...
        entry["nodes_by_state"][state] = entry["nodes_by_state"].get(state, 0) + int(count)
    return list(partitions.values())
