"""Jobs and data on a project's cluster, end to end: the operation playbooks and modules against a real Slurm head node.

The cluster is made by the create playbook on the emulator (UUID4 ids, FSx for Lustre with its DRAs); the head node
is a container (tests/head_node.py) configured by the node playbook, reached on 127.0.0.1 with the sim key pair that
create stored in the emulator's Secrets Manager, and verified against the host key it published in the infra bucket.
Its /obi/data is the emulator's directory of the cluster's FSx file system, so that S3 writes under a DRA appear on
the cluster (automatic import) and export tasks put the cluster's files into S3, as on AWS.

Cases: health; submit, running, completed, the output downloaded and checked; cancel; stage in from HTTP on loopback
and from an emulator S3 object; SFTP (EFS-only) upload, download, list, delete; the REST transport with a token;
and every bad input of the issue, each leaving the cluster and S3 as they were.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import hashlib
import http.server
import os
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import REGION, Emulator, playbook_runner, running_emulator  # pylint: disable=import-error
from conftest import _free_port as free_port  # pylint: disable=import-error
from head_node import SlurmHeadNode, TokenIssuer, register_secret  # pylint: disable=import-error
from lifecycle_helpers import lifecycle, run_together  # pylint: disable=import-error

PREFIX = "jbs"
SUBNETS = 1
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """This file's emulator, with an FSx data directory (the cluster's Lustre content, mounted on the head node)."""
    data = tmp_path_factory.mktemp("fsx-data")
    with running_emulator("--fsx-data-dir", str(data)) as endpoint:
        emulator = Emulator(endpoint)
        emulator.fsx_data = data
        emulator.control("POST", "settings", {"dra_create_seconds": 0, "dra_update_seconds": 0,
                                              "dra_delete_seconds": 0})
        previous = os.environ.get("AWS_ENDPOINT_URL")
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            yield emulator
        finally:
            if previous is None:
                os.environ.pop("AWS_ENDPOINT_URL", None)
            else:
                os.environ["AWS_ENDPOINT_URL"] = previous


class Project:
    """One project's cluster and head node, and the way to run the operation playbooks on it."""

    def __init__(self, emulator, site, runner, stats, node, issuer):
        self.emulator, self.site, self.runner, self.node, self.issuer = emulator, site, runner, node, issuer
        self.vlab_id, self.project_id = node.vlab_id, node.project_id
        self.cluster, self.fsx_id = stats["clusterName"], stats["clusterFsxId"]
        self.key_arn = stats["user_private_ssh_key_arn"]
        self.scratch = f"{node.mount_dir}/scratch/{self.project_id}"

    def run(self, playbook, name=None, **extra):
        """obi.hpc_provisioner.<playbook> for this project, to the head node on 127.0.0.1."""
        request = dict(vlab_id=self.vlab_id, project_id=self.project_id, head_node_address="127.0.0.1",
                       head_node_port=self.node.ssh_port)
        return lifecycle(self.runner, playbook, self.site, name=name or playbook, **dict(request, **extra))

    def ok(self, playbook, **extra):
        run = self.run(playbook, **extra)
        stats = run.stats_data
        assert run.rc == 0 and stats["status"] == "ok" and stats["error"] is None, (stats, run.stdout[-3000:])
        assert stats["operation"] == playbook and stats["clusterName"] == self.cluster
        return stats["result"]

    def refused(self, playbook, field, words, **extra):
        """The playbook fails naming ``field`` with ``words`` in its message, and changes nothing."""
        before = self.snapshot()
        run = self.run(playbook, **extra)
        stats = run.stats_data
        assert run.rc != 0 and stats["status"] == "error" and stats["result"] is None, (stats, run.stdout[-3000:])
        assert stats["error"]["field"] == field and words in stats["error"]["message"], stats["error"]
        assert self.snapshot() == before
        return stats["error"]

    def module(self, module, name, **options):
        """One task of ``module`` with this project's connection options (a playbook run); its result."""
        task = {"name": name, module: dict(self.connection(), **options), "register": "out",
                "ignore_errors": True}
        run = self.runner([task], name=name)
        return run.results(name)

    def connection(self):
        return {"vlab_id": self.vlab_id, "project_id": self.project_id, "cluster_name": self.cluster,
                "head_node_host": "127.0.0.1", "head_node_port": self.node.ssh_port,
                "private_key_secret": self.key_arn, "host_key_bucket": self.site["hpc_infra_bucket"]}

    def sim(self, *argv):
        return self.node.exec(list(argv), user="sim", check=True).stdout

    def snapshot(self):
        """What a refused request must leave as it was: the project's S3 objects, the cluster's files, the queue."""
        s3 = self.emulator.client("s3")
        buckets = (self.site["hpc_private_bucket"], self.site["hpc_scratch_bucket"])
        keys = sorted((bucket, item["Key"], item["ETag"]) for bucket in buckets
                      for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
        root = self.emulator.fsx_data / self.fsx_id
        files = sorted((str(path.relative_to(root)), path.stat().st_size if path.is_file() else None)
                       for path in root.rglob("*"))
        queue = self.node.exec(["squeue", "--noheader", "--format=%i %T"], check=True).stdout.split("\n")
        return keys, files, sorted(line.split()[0] for line in queue if line.strip())

    def wait_state(self, job_id, states, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            job = self.ok("job_status", job_id=job_id)["job"]
            if job["state"] in states or time.monotonic() > deadline:
                return job
            time.sleep(1)


def public_key_of(private_text):
    key = serialization.load_ssh_private_key(private_text.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture(scope="module")
def project(emulator, site, tmp_path_factory, request):
    runner = playbook_runner(emulator, tmp_path_factory.mktemp("jobs-playbooks"), request.node.nodeid)
    vlab_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
    ids = {"vlab_id": vlab_id, "project_id": project_id}
    created = lifecycle(runner, "create", site, wait=True, storage="lustre", **ids)
    assert created.rc == 0, created.stdout[-4000:]
    stats = created.stats_data
    private = emulator.client("secretsmanager").get_secret_value(SecretId=stats["user_private_ssh_key_arn"])
    register_secret(private["SecretString"])
    issuer = TokenIssuer()
    node = SlurmHeadNode(cluster=stats["clusterName"], sim_public_key=public_key_of(private["SecretString"]),
                         infra_bucket=site["hpc_infra_bucket"], endpoint_url=emulator.endpoint, region=REGION,
                         data_dir=emulator.fsx_data / stats["clusterFsxId"], jwks=issuer.jwks(),
                         token_issuer=issuer.issuer, **ids)
    try:
        with node:
            yield Project(emulator, site, runner, stats, node, issuer)
    finally:
        deleted = lifecycle(runner, "delete", site, **ids)
        assert deleted.rc == 0, deleted.stdout[-4000:]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """An HTTP server on 127.0.0.1 serving a folder; yields (folder, base URL)."""
    folder = tmp_path_factory.mktemp("web")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_health_runs_a_job_under_the_project(project):
    result = project.ok("health")
    assert result["healthy"] is True
    assert result["srun"]["rc"] == 0 and result["srun"]["output"] == project.node.node_name
    (debug,) = result["partitions"]
    assert debug["name"] == "debug" and debug["state"] == "up" and debug["nodes"] == 1


def test_a_job_runs_to_completion_and_its_output_is_downloaded(project, tmp_path):
    # The job runs until the test releases it, so that RUNNING is seen however slow the machine is.
    script = ("#!/bin/bash\necho \"out $SLURM_JOB_ID $SLURM_JOB_ACCOUNT $GREETING\"\necho err >&2\n"
              "while [ ! -e release ]; do sleep 0.2; done\n")
    submitted = project.ok("job_submit", script=script, work_dir="runs/first", job_name="first",
                           time_limit="5", job_environment={"GREETING": "hello world"})
    job_id = submitted["job_id"]
    assert submitted["account"] == project.project_id
    assert submitted["stdout"] == f"{project.scratch}/runs/first/slurm-{job_id}.out"
    running = project.wait_state(job_id, ("RUNNING",))
    assert running["state"] == "RUNNING" and running["end_time"] is None and running["start_time"]
    project.sim("touch", f"{project.scratch}/runs/first/release")
    done = project.wait_state(job_id, ("COMPLETED", "FAILED"))
    assert done["state"] == "COMPLETED" and done["exit_code"] == "0:0" and done["end_time"]
    assert done["nodes"] == project.node.node_name and done["stdout"] == submitted["stdout"]

    dest = tmp_path / "first.out"
    fetched = project.ok("data_download", path=f"runs/first/slurm-{job_id}.out", dest=str(dest))
    assert dest.read_text() == f"out {job_id} {project.project_id} hello world\n"
    # Through the scratch DRA's export: the object is in the project's scratch prefix.
    key = f"{project.vlab_id}/{project.project_id}/{project.project_id}/runs/first/slurm-{job_id}.out"
    assert fetched["s3_url"] == f"s3://{project.site['hpc_scratch_bucket']}/{key}"
    assert fetched["transfer"]["bytes"] == dest.stat().st_size and fetched["changed"] is True
    again = project.ok("data_download", path=f"runs/first/slurm-{job_id}.out", dest=str(dest))
    assert again["changed"] is False
    errors = tmp_path / "first.err"
    project.ok("data_download", path=f"runs/first/slurm-{job_id}.err", dest=str(errors))
    assert errors.read_text() == "err\n"


def test_a_running_job_is_cancelled_once(project):
    job_id = project.ok("job_submit", command="sleep 300", work_dir="runs/cancel")["job_id"]
    assert project.wait_state(job_id, ("RUNNING",))["state"] == "RUNNING"
    cancelled = project.ok("job_cancel", job_id=job_id)
    assert cancelled["changed"] is True and cancelled["job"]["state"] == "RUNNING"
    assert project.wait_state(job_id, ("CANCELLED",), timeout=30)["state"] == "CANCELLED"
    assert project.ok("job_cancel", job_id=job_id)["changed"] is False


def test_stage_in_from_http_lands_in_the_private_prefix_and_on_the_cluster(project, web):
    folder, base = web
    payload = os.urandom(3 * MiB)
    (folder / "big.bin").write_bytes(payload)
    staged = project.ok("data_upload", area="private", path="inputs/big.bin", src=f"{base}/big.bin")
    key = f"{project.vlab_id}/{project.project_id}/inputs/big.bin"
    assert staged["s3_url"] == f"s3://{project.site['hpc_private_bucket']}/{key}"
    assert staged["transfer"]["bytes"] == len(payload) and staged["transfer"]["progress"][-1]["bytes"] == len(payload)
    private = f"{project.node.mount_dir}/project/private"
    on_cluster = project.sim("sha256sum", f"{private}/inputs/big.bin").split()[0]
    assert on_cluster == hashlib.sha256(payload).hexdigest()
    # Imported with FSx's POSIX metadata: the project's, not root's.
    owners = project.node.exec(["stat", "-c", "%U %a", f"{private}/inputs", f"{private}/inputs/big.bin"]).stdout
    assert owners == "sim 2770\nsim 660\n"
    assert project.ok("data_upload", area="private", path="inputs/big.bin", src=f"{base}/big.bin")["changed"] is False

    listed = project.ok("data_list", area="private", path="inputs")["entries"]
    assert listed == [{"path": "inputs/big.bin", "type": "file", "size": len(payload), "mtime": listed[0]["mtime"]}]
    deleted = project.ok("data_delete", area="private", path="inputs/big.bin")
    assert deleted["changed"] is True
    assert project.node.exec(["test", "-e", f"{project.node.mount_dir}/project/private/inputs/big.bin"]).returncode
    objects = project.emulator.client("s3").list_objects_v2(Bucket=project.site["hpc_private_bucket"], Prefix=key)
    assert objects.get("KeyCount", 0) == 0, "the private DRA does not export deletions: the module deletes the copy"
    assert project.ok("data_delete", area="private", path="inputs/big.bin")["changed"] is False


def test_stage_in_from_an_s3_object_lands_in_scratch(project):
    s3 = project.emulator.client("s3")
    bucket = f"{PREFIX}-source-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="morphologies/cell.swc", Body=b"1 1 0 0 0 1 -1\n")
    staged = project.ok("data_upload", path="in/cell.swc", src=f"s3://{bucket}/morphologies/cell.swc")
    assert staged["size"] == 15
    assert project.sim("cat", f"{project.scratch}/in/cell.swc") == "1 1 0 0 0 1 -1\n"
    listed = project.ok("data_list", path=".", recurse=True)["entries"]
    assert {"path": "in/cell.swc", "type": "file", "size": 15} in [
        {k: e[k] for k in ("path", "type", "size")} for e in listed]


def test_sftp_moves_the_data_of_an_efs_only_cluster(project, web, tmp_path):
    folder, base = web
    (folder / "efs.txt").write_text("on efs\n")
    module = "obi.hpc_provisioner.project_data"
    uploaded = project.module(module, "sftp-upload", mode="upload", path="efs/one.txt", src=f"{base}/efs.txt")
    assert uploaded.get("failed") is not True and uploaded["transfer"]["bytes"] == 7 and "s3_url" not in uploaded
    assert project.node.exec(["stat", "-c", "%U %s", f"{project.scratch}/efs/one.txt"]).stdout == "sim 7\n"
    dest = tmp_path / "one.txt"
    downloaded = project.module(module, "sftp-download", mode="download", path="efs/one.txt", dest=str(dest))
    assert downloaded["changed"] is True and dest.read_text() == "on efs\n" and "s3_url" not in downloaded
    removed = project.module(module, "sftp-delete", mode="delete", path="efs", recurse=True)
    assert removed["changed"] is True and removed["kind"] == "directory"
    assert project.node.exec(["test", "-e", f"{project.scratch}/efs"]).returncode != 0


def test_two_requests_for_one_project_at_once(project, web):
    """The Workflow Service may start two jobs for one project at once: two submits and two uploads of one file."""
    folder, base = web
    (folder / "twin.txt").write_text("twin\n")
    runs = run_together(
        lambda: project.run("job_submit", name="twin-submit-1", command="echo one", work_dir="runs/twin"),
        lambda: project.run("job_submit", name="twin-submit-2", command="echo two", work_dir="runs/twin"),
        lambda: project.run("data_upload", name="twin-upload-1", path="twin/t.txt", src=f"{base}/twin.txt",
                            overwrite=True),
        lambda: project.run("data_upload", name="twin-upload-2", path="twin/t.txt", src=f"{base}/twin.txt",
                            overwrite=True))
    for run in runs:
        assert run.rc == 0 and run.stats_data["status"] == "ok", run.stats_data
    first, second = (run.stats_data["result"]["job_id"] for run in runs[:2])
    assert first != second
    for job_id in (first, second):
        assert project.wait_state(job_id, ("COMPLETED",))["state"] == "COMPLETED"
    assert project.sim("cat", f"{project.scratch}/twin/t.txt") == "twin\n"
    assert project.node.exec(["sh", "-c", f"ls -A {project.scratch}/twin"]).stdout == "t.txt\n"  # no partial left


def test_the_rest_api_submits_and_reads_jobs_with_the_users_token(project):
    token = project.issuer.token("sim")
    rest = {"transport": "rest", "rest_token": token, "slurm_rest_url": project.node.rest_url}
    project.sim("mkdir", "-p", f"{project.scratch}/runs/rest")
    job_id = project.ok("job_submit", command="echo over rest", work_dir="runs/rest", **rest)["job_id"]
    deadline = time.monotonic() + 90
    while True:
        job = project.ok("job_status", job_id=job_id, **rest)["job"]
        if job["state"] == "COMPLETED" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert job["state"] == "COMPLETED" and job["account"] == project.project_id
    assert project.sim("cat", f"{project.scratch}/runs/rest/slurm-{job_id}.out") == "over rest\n"


@pytest.fixture(scope="module")
def other_project_job(project):
    """A job of another project on the same cluster (its own account), submitted by root."""
    node = project.node
    node.exec(["sacctmgr", "-i", "add", "account", "other-project"], check=True)
    node.exec(["sacctmgr", "-i", "add", "user", "root", "account=other-project"], check=True)
    out = node.exec(["sbatch", "--parsable", "--account=other-project", "--wrap", "sleep 3600"], check=True).stdout
    return int(out.strip().split(";")[0])


def test_another_projects_job_cannot_be_read_or_cancelled(project, other_project_job):
    project.refused("job_status", "job_id", "is not a job of project", job_id=other_project_job)
    project.refused("job_cancel", "job_id", "is not a job of project", job_id=other_project_job)


@pytest.mark.parametrize("playbook, field, words, request_vars", [
    ("job_status", "job_id", "no such job", {"job_id": 987654}),
    ("job_submit", "script_path", "no such readable file", {"script_path": "missing.sh"}),
    ("job_submit", "work_dir", "'..'", {"command": "true", "work_dir": "../other"}),
    ("data_list", "path", "absolute", {"path": "/etc"}),
    ("data_download", "path", "'..'", {"path": "runs/../../x", "dest": "/tmp/never"}),
    ("data_upload", "src", "the scheme must be one of", {"path": "x.bin", "src": "ftp://127.0.0.1/x.bin"}),
    ("data_upload", "area", "one of scratch, private",
     {"area": "public", "path": "x.bin", "src": "https://127.0.0.1/x"}),
])
def test_bad_input_is_refused_naming_the_field(project, playbook, field, words, request_vars):
    project.refused(playbook, field, words, **request_vars)


def test_a_symbolic_link_out_of_the_project_is_refused(project):
    project.sim("ln", "-sfn", "/etc", f"{project.scratch}/etc-link")
    project.refused("data_download", "path", "outside the project's directory", path="etc-link/hostname",
                    dest="/tmp/never")
    project.refused("data_delete", "path", "outside the project's directory", path="etc-link/hostname")
    assert project.node.exec(["test", "-f", "/etc/hostname"]).returncode == 0


def test_an_unreachable_head_node_is_named(project):
    closed = free_port()  # nothing listens there
    project.refused("health", "head_node_address", "cannot reach the head node", head_node_port=closed)


def test_another_host_key_is_refused(project):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    result = project.module("obi.hpc_provisioner.slurm_job_info", "wrong-host-key", job_id=1, host_key=other)
    assert result["failed"] is True and result["fields"] == ["host_key"] and "refused" in result["msg"]


def test_check_mode_submits_nothing(project):
    before = project.snapshot()
    task = {"name": "check", "obi.hpc_provisioner.slurm_job": dict(project.connection(), command="true"),
            "register": "out"}
    run = project.runner([task], name="check-submit", check=True)
    assert run.results("check")["changed"] is True and run.results("check")["job_id"] is None
    assert project.snapshot() == before
