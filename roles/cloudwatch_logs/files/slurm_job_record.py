#!/usr/bin/env python
"""Slurm jobcomp/script program: append one JSON record per finished job to a JSON-lines file.

slurmctld (JobCompType=jobcomp/script, JobCompLoc=<this program>) runs it once per job, as SlurmUser, with the
job in its environment (JOBID, JOBNAME, USER, ACCOUNT, PARTITION, NODES, JOBSTATE, EXITCODE, SUBMIT, START,
END, STDOUT, STDERR, ...). The job's own environment (with the environment modules it loaded) is read from
slurmctld's state directory when Slurm still keeps it (batch jobs).

Usage: slurm_job_record.py [RECORDS_FILE]   (default: $OBI_JOB_RECORDS or /var/log/obi/slurm-jobs.json)
"""

import datetime
import json
import os
import pwd
import re
import struct
import subprocess
import sys

DEFAULT_RECORDS = "/var/log/obi/slurm-jobs.json"
KEEP_ENV = re.compile(r"^(LOADEDMODULES|_LMFILES_|MODULEPATH|MODULESHOME|SLURM_[A-Z_]+|PATH|HOME|SHELL|PWD|"
                      r"CLUSTER_NAME|VLAB_ID|PROJECT_ID|OMP_[A-Z_]+|LD_LIBRARY_PATH)$")


def _time(value):
    """Slurm passes epoch seconds; 0 or empty means unknown."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return value or None
    if seconds <= 0:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


def _exit_code(value):
    """EXITCODE is the wait status of the batch script (or 'code:signal')."""
    if value is None or value == "":
        return None
    if ":" in value:
        code = value.split(":", 1)[0]
        return int(code)
    status = int(value)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return status


def _state_save_location():
    try:
        out = subprocess.run(["scontrol", "show", "config"], check=True, capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        key, dummy, value = line.partition("=")
        if key.strip() == "StateSaveLocation":
            return value.strip()
    return None


def _job_environment(job_id):
    """The batch job's environment as slurmctld saved it: a uint32 count, then NUL-terminated strings."""
    location = _state_save_location()
    if not location or not job_id.isdigit():
        return {}
    path = os.path.join(location, "hash.%d" % (int(job_id) % 10), "job.%s" % job_id, "environment")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return {}
    if len(data) < 4:
        return {}
    count = struct.unpack("=I", data[:4])[0]
    entries = data[4:].split(b"\0")[:count]
    env = {}
    for entry in entries:
        name, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep and KEEP_ENV.match(name):
            env[name] = value
    return env


def _user(environ):
    if environ.get("USER"):
        return environ["USER"]
    try:
        return pwd.getpwuid(int(environ.get("UID", ""))).pw_name
    except (KeyError, ValueError):
        return environ.get("UID")


def _expand(pattern, environ, user, default):
    """Slurm's file name patterns (%j, %u, %x, %N, %A, %a, %%) in StdOut/StdErr, relative to WORK_DIR."""
    if not pattern:
        if default is None:
            return None
        pattern = default
    values = {
        "j": environ.get("JOBID", ""),
        "u": user or "",
        "x": environ.get("JOBNAME", ""),
        "N": (environ.get("NODES", "") or "").split(",")[0],
        "A": environ.get("ARRAYJOBID", "") or environ.get("JOBID", ""),
        "a": environ.get("ARRAYTASKID", "") or "",
        "%": "%",
    }
    path = re.sub(r"%0?\d*([juxNAa%])", lambda m: values[m.group(1)], pattern)
    if not path.startswith("/") and environ.get("WORK_DIR"):
        path = os.path.join(environ["WORK_DIR"], path)
    return path


def build_record(environ):
    job_id = environ.get("JOBID", "")
    env = _job_environment(job_id)
    modules = [m for m in env.get("LOADEDMODULES", "").split(":") if m]
    user = _user(environ)
    batch = environ.get("BATCH", "").lower() in ("yes", "true", "1")
    stdout = _expand(environ.get("STDOUT"), environ, user, "slurm-%j.out" if batch else None)
    return {
        "job_id": job_id,
        "name": environ.get("JOBNAME"),
        "user": user,
        "uid": environ.get("UID"),
        "account": environ.get("ACCOUNT"),
        "partition": environ.get("PARTITION"),
        "nodes": environ.get("NODES"),
        "state": environ.get("JOBSTATE"),
        "exit_code": _exit_code(environ.get("EXITCODE")),
        "submit_time": _time(environ.get("SUBMIT")),
        "start_time": _time(environ.get("START")),
        "end_time": _time(environ.get("END")),
        "work_dir": environ.get("WORK_DIR"),
        "stdout": stdout,
        "stderr": _expand(environ.get("STDERR"), environ, user, None) or stdout,
        "cluster": environ.get("CLUSTER_NAME") or env.get("CLUSTER_NAME"),
        "modules": modules,
        "environment": env,
    }


def main(argv):
    records = argv[1] if len(argv) > 1 else os.environ.get("OBI_JOB_RECORDS", DEFAULT_RECORDS)
    record = build_record(os.environ)
    line = json.dumps(record, sort_keys=True) + "\n"
    fd = os.open(records, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
