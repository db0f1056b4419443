"""The job and data modules' decisions without a head node: path confinement, sbatch command lines, Slurm's records,
request checks, progress samples, host and private keys (module_utils project_paths, slurm_cli, slurm_jobs,
project_data, operations, head_node). What the head node does is tests/functional/test_jobs_and_data.py."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import head_node
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import operations
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_data
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_paths
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_cli
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import slurm_jobs

PROJECT = str(uuid.uuid4())
VLAB = str(uuid.uuid4())


class FakeNode:
    """realpath -m as the head node would answer, with the symbolic links given."""

    def __init__(self, links=None):
        self.links = links or {}
        self.calls = []

    def run(self, argv, stdin=None, timeout=60):
        self.calls.append(argv)
        assert argv[:3] == ["realpath", "-m", "--"]
        return 0, "".join(self.resolve(path) + "\n" for path in argv[3:]), ""

    def resolve(self, path):
        for link, target in self.links.items():
            if path == link or path.startswith(link + "/"):
                return target + path[len(link):]
        return path


def test_areas_are_the_project_directories():
    assert project_paths.area_dir("/obi/data", "scratch", PROJECT) == f"/obi/data/scratch/{PROJECT}"
    assert project_paths.area_dir("/obi/data/", "private", PROJECT) == "/obi/data/project/private"
    assert project_paths.area_dir("/obi/data", "public", PROJECT) == "/obi/data/project/public"


@pytest.mark.parametrize("path, words", [
    ("/etc/passwd", "absolute"), ("../other", "'..'"), ("runs/../../x", "'..'"), ("", "empty"), ("   ", "empty"),
    ("a\0b", "NUL"), (None, "empty")])
def test_paths_that_could_leave_the_area_are_refused_by_their_text(path, words):
    message = project_paths.relative_path_error(path, "work_dir")
    assert message and words in message and message.startswith("work_dir")
    with pytest.raises(project_paths.PathError) as raised:
        project_paths.join("/obi/data/project/private", path, "work_dir")
    assert raised.value.field == "work_dir"


@pytest.mark.parametrize("path", ["runs/a.out", ".", "a/./b", "..x/y", "dir/"])
def test_relative_paths_stay_inside(path):
    assert project_paths.relative_path_error(path) is None
    assert project_paths.inside("/root/area", project_paths.join("/root/area", path))


def test_a_symbolic_link_out_of_the_area_is_refused_on_the_head_node():
    area = f"/obi/data/scratch/{PROJECT}"
    node = FakeNode({f"{area}/escape": "/obi/data/scratch/other-project"})
    with pytest.raises(project_paths.PathError) as raised:
        project_paths.confine(node, area, [f"{area}/escape/results.h5"], "path")
    assert raised.value.field == "path" and "outside the project's directory" in str(raised.value)
    root, resolved = project_paths.confine(FakeNode({f"{area}/in": f"{area}/deep/in"}), area, [f"{area}/in/x"])
    assert root == area and resolved == [f"{area}/deep/in/x"]


def test_a_sibling_directory_with_the_same_prefix_is_outside():
    assert not project_paths.inside("/obi/data/scratch/p1", "/obi/data/scratch/p10/x")
    assert project_paths.inside("/obi/data/scratch/p1", "/obi/data/scratch/p1")


def test_sbatch_runs_under_the_project_account_with_fixed_outputs():
    params = {"job_name": "sim one", "partition": "debug", "nodes": 2, "ntasks": 4, "time_limit": "01:00:00",
              "environment": {"RUN": "a,b c"}}
    argv = slurm_cli.sbatch_argv(params, PROJECT, "/w")
    assert argv[:2] == ["env", "RUN=a,b c"]
    assert f"--account={PROJECT}" in argv and "--chdir=/w" in argv
    assert "--output=/w/slurm-%j.out" in argv and "--error=/w/slurm-%j.err" in argv
    assert {"--job-name=sim one", "--partition=debug", "--nodes=2", "--ntasks=4", "--time=01:00:00"} <= set(argv)
    assert slurm_cli.sbatch_argv({}, PROJECT, "/w", "/w/run.sh")[-1] == "/w/run.sh"


@pytest.mark.parametrize("params, field", [
    ({"time_limit": "1 hour"}, "time_limit"), ({"partition": "a b"}, "partition"), ({"nodes": 0}, "nodes"),
    ({"ntasks": -1}, "ntasks"), ({"job_name": "two\nlines"}, "job_name"),
    ({"environment": {"PATH": "/x"}}, "environment"),
    ({"environment": {"SLURM_ACCOUNT": "other"}}, "environment"), ({"environment": {"1X": "y"}}, "environment")])
def test_invalid_sbatch_options_are_named(params, field):
    assert [f for f, _message in slurm_cli.submit_errors(params)] == [field]


@pytest.mark.parametrize("limit", ["30", "10:00", "01:00:00", "2-00", "2-12:30", "1-00:00:01", "UNLIMITED"])
def test_slurm_time_formats_are_accepted(limit):
    assert slurm_cli.submit_errors({"time_limit": limit}) == []


@pytest.mark.parametrize("limit, minutes", [
    ("30", 30), ("10:30", 11), ("01:00:00", 60), ("2-00", 2880), ("1-01:30", 1530), ("UNLIMITED", None)])
def test_time_limits_become_minutes_for_the_rest_api(limit, minutes):
    assert slurm_jobs._minutes(limit) == minutes  # pylint: disable=protected-access


def test_a_command_becomes_a_bash_script():
    assert slurm_cli.batch_script(command="echo hi") == "#!/bin/bash\necho hi\n"
    assert slurm_cli.batch_script(script="#!/bin/sh\ntrue") == "#!/bin/sh\ntrue\n"


def test_sbatch_output_gives_the_job_id():
    assert slurm_cli.parsed_job_id("42\n") == 42
    assert slurm_cli.parsed_job_id("43;cluster\n") == 43
    with pytest.raises(slurm_cli.RequestError):
        slurm_cli.parsed_job_id("sbatch: error: Batch job submission failed")


def test_scontrol_records_are_read_with_spaces_in_values():
    line = (f"JobId=7 JobName=sim one UserId=sim(2000) GroupId=obi(2000) Account={PROJECT} JobState=CANCELLED "
            "Reason=None ExitCode=0:15 StartTime=2026-12-07T14:00:00 EndTime=2026-12-07T14:01:00 "
            "NodeList=node-1 WorkDir=/obi/data/scratch/p/run a StdErr=/obi/data/scratch/p/run a/slurm-7.err "
            "StdIn=/dev/null StdOut=/obi/data/scratch/p/run a/slurm-7.out")
    job = slurm_cli.job_from_scontrol(line)
    assert job == {"job_id": 7, "name": "sim one", "state": "CANCELLED", "exit_code": "0:15",
                   "start_time": "2026-12-07T14:00:00", "end_time": "2026-12-07T14:01:00", "nodes": "node-1",
                   "account": PROJECT, "work_dir": "/obi/data/scratch/p/run a",
                   "stdout": "/obi/data/scratch/p/run a/slurm-7.out",
                   "stderr": "/obi/data/scratch/p/run a/slurm-7.err"}


def test_a_running_job_has_no_end_time_yet():
    line = "JobId=8 JobName=x Account=p JobState=RUNNING ExitCode=0:0 StartTime=2026-12-07T14:00:00 " \
           "EndTime=2027-12-07T14:00:00 NodeList=n WorkDir=/w StdErr=/w/e StdOut=/w/o"
    assert slurm_cli.job_from_scontrol(line)["end_time"] is None


def test_sacct_records_give_the_output_files_from_the_work_dir():
    job = slurm_cli.job_from_sacct(f"9|x|CANCELLED by 2000|0:0|2026-12-07T14:00:00|Unknown|None|{PROJECT}|/w")
    assert job["state"] == "CANCELLED" and job["end_time"] is None and job["nodes"] is None
    assert job["stdout"] == "/w/slurm-9.out" and job["stderr"] == "/w/slurm-9.err"


def test_another_projects_job_is_refused_by_its_account():
    with pytest.raises(slurm_cli.RequestError) as raised:
        slurm_jobs.owned({"account": "other"}, 5, PROJECT)
    assert raised.value.field == "job_id" and "not a job of project" in str(raised.value)
    with pytest.raises(slurm_cli.RequestError, match="no such job"):
        slurm_jobs.owned(None, 5, PROJECT)
    assert slurm_jobs.owned({"account": PROJECT.upper()}, 5, PROJECT)


def test_sinfo_summary_and_health():
    partitions = slurm_cli.sinfo_partitions("debug|up|1|idle\ndebug|up|2|down*\nbig|down|3|idle~\n")
    assert partitions == [{"name": "debug", "state": "up", "nodes": 3, "nodes_by_state": {"idle": 1, "down": 2}},
                          {"name": "big", "state": "down", "nodes": 3, "nodes_by_state": {"idle": 3}}]
    assert slurm_jobs.health_verdict({"partitions": partitions, "srun": {"rc": 0}})
    assert not slurm_jobs.health_verdict({"partitions": partitions, "srun": {"rc": 1}})
    assert not slurm_jobs.health_verdict({"partitions": partitions[1:]})
    assert not slurm_jobs.health_verdict({"partitions": slurm_cli.sinfo_partitions("debug|up|1|down*\n")})


@pytest.mark.parametrize("src, ok", [
    ("https://example.org/a.h5", True), ("http://127.0.0.1:8080/a", True), ("s3://bucket/key/a", True),
    ("ftp://host/a", False), ("file:///etc/passwd", False), ("s3://bucket", False), ("https:///nohost", False),
    ("/local/file", False), ("", False)])
def test_sources_are_https_http_or_s3(src, ok):
    error = project_data.source_error(src)
    assert (error is None) == ok
    if not ok:
        assert error.startswith("src") and "https, http, s3" in error or "names no" in error


def test_progress_samples_every_tenth_of_a_known_size_and_the_end():
    progress = project_data.Progress(total=100 * 1024 * 1024)
    for _megabyte in range(100):
        progress.add(1024 * 1024)
    result = progress.result()
    assert result["bytes"] == 100 * 1024 * 1024 and len(result["progress"]) == 10
    assert [s["bytes"] for s in result["progress"]] == [i * 10 * 1024 * 1024 for i in range(1, 11)]
    small = project_data.Progress(total=None)
    small.add(5)
    assert small.result()["progress"] == [{"bytes": 5, "seconds": small.result()["progress"][0]["seconds"]}]


def common(**changes):
    params = {"vlab_id": VLAB, "project_id": PROJECT, "transport": "ssh", "private_key_secret": "arn:x",
              "host_key": None, "host_key_bucket": "infra", "head_node_port": 22, "rest_url": None,
              "rest_token": None}
    params.update(changes)
    return params


@pytest.mark.parametrize("changes, field", [
    ({"vlab_id": "VLAB!"}, "vlab_id"), ({"project_id": "../x"}, "project_id"),
    ({"private_key_secret": None}, "private_key_secret"), ({"host_key_bucket": None}, "host_key_bucket"),
    ({"transport": "rest"}, "rest_url"), ({"head_node_port": 0}, "head_node_port")])
def test_request_errors_name_the_field(changes, field):
    assert field in [f for f, _message in operations.request_errors(common(**changes))]


def test_a_complete_request_has_no_error():
    assert operations.request_errors(common()) == []
    assert operations.request_errors(common(transport="rest", rest_url="http://127.0.0.1:1", rest_token="t")) == []


def test_keys_are_parsed_in_memory():
    key = ed25519.Ed25519PrivateKey.generate()
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert head_node.private_key(text).get_name() == "ssh-ed25519"
    assert head_node.host_key(public + " root@head").get_base64() == public.split()[1]
    with pytest.raises(head_node.HeadNodeError) as raised:
        head_node.private_key("not a key")
    assert raised.value.field == "private_key_secret" and "not a key" not in str(raised.value)
    with pytest.raises(head_node.HeadNodeError) as raised:
        head_node.host_key("ssh-ed25519 ???")
    assert raised.value.field == "host_key"
    assert head_node.known_host_name("10.0.0.5", 22) == "10.0.0.5"
    assert head_node.known_host_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


class CountingJobs:
    """A job that reads PENDING, then RUNNING, then its final state."""

    def __init__(self, states):
        self.states = list(states)

    def job(self, job_id):
        return {"job_id": job_id, "state": self.states.pop(0) if len(self.states) > 1 else self.states[0]}


def test_waiting_for_a_job_returns_it_ended_or_as_last_read():
    assert slurm_jobs.wait_ended(CountingJobs(["PENDING", "RUNNING", "COMPLETED"]), 3, 30)["state"] == "COMPLETED"
    assert slurm_jobs.wait_ended(CountingJobs(["RUNNING"]), 4, 0.3)["state"] == "RUNNING"
