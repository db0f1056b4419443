"""Shared fixtures: one emulator process per test session, reached over HTTP on 127.0.0.1."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
# Every output the suites produce (playbook runs, ansible-runner artifacts, emulator logs) and the secret values the
# emulators stored are kept here; scripts/scan_secrets.py then checks that no secret is in any output.
OUTPUTS = Path(os.environ.get("HPC_TEST_OUTPUTS") or REPO_ROOT / ".build" / "test-outputs")
# This work tree is the collection obi.hpc_provisioner on the collections path that scripts/bootstrap.sh
# makes; on sys.path, the unit tests import it as ansible_collections.obi.hpc_provisioner.
COLLECTIONS_PATH = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0] or str(REPO_ROOT / ".build" / "collections")
sys.path.insert(0, COLLECTIONS_PATH)


def output_dir(node_id):
    """The folder under OUTPUTS/runs/ for the outputs of test ``node_id``."""
    folder = OUTPUTS / "runs" / re.sub(r"[^A-Za-z0-9_.-]+", "_", node_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_output(node_id, name, *texts):
    """Write one output of test ``node_id`` (stdout, stderr, ...) for the secret scan; returns the file."""
    folder = output_dir(node_id)
    path = folder / f"{name}-{len(list(folder.glob(f'{name}-*')))}.log"
    path.write_text("\n".join(text or "" for text in texts), encoding="utf-8")
    return path


def save_stored_secrets(endpoint, port):
    """Write the secret values an emulator stored to OUTPUTS/stored-secrets-PORT.json (0600): the scan's canaries."""
    with urllib.request.urlopen(f"{endpoint}/_emulator/stored-secrets", timeout=10) as response:
        values = json.loads(response.read())["values"]
    path = OUTPUTS / f"stored-secrets-{port}.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(values), encoding="utf-8")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """A running emulator: its endpoint, its control API and boto3 clients bound to it."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def control(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def client(self, service, **kwargs):
        import boto3  # pylint: disable=import-outside-toplevel

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing", **kwargs)

    def requests(self):
        return self.control("GET", "requests")

    def reset(self):
        """Forget throttles, queued faults, custom timings and the request log (not the resources)."""
        self.control("DELETE", "faults")
        self.control("DELETE", "requests")


# An emulator gets this long to exit after SIGTERM before it is killed: on a loaded machine it can take more than 10 s.
EMULATOR_STOP_GRACE = 20


def start_emulator(port, *extra_args):
    """Start `python -m emulator` and wait until its control endpoint answers; returns the Popen.

    Its output goes to a log file (never a pipe that nobody reads: the server logs every request and
    would block once the pipe is full). When it does not come up, it is stopped before the error is raised.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    log_path = OUTPUTS / f"emulator-{port}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port), *extra_args],
                                   cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}: {log_path.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).close()
            return process
        except OSError:
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    stop_emulator(process, log_path)
    raise RuntimeError(f"emulator did not answer within 30 s: {log_path.read_text()}")


def stop_emulator(process, log_path=None, grace=EMULATOR_STOP_GRACE):
    """Stop an emulator and reap it: SIGTERM, up to ``grace`` seconds to exit, then SIGKILL and wait.

    Never raises: a slow exit is not a test failure. A kill is noted at the end of its log (``log_path``).
    """
    if process.poll() is not None:
        return
    started = time.monotonic()
    process.terminate()
    try:
        process.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        process.kill()
    try:
        process.wait(timeout=60)
        note = f"killed: still running {grace} s after SIGTERM"
    except subprocess.TimeoutExpired:
        note = f"still running {time.monotonic() - started:.0f} s after SIGTERM and SIGKILL (pid {process.pid})"
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as log:
            print(f"[conftest] emulator {note}", file=log)


@contextlib.contextmanager
def running_emulator(*extra_args):
    """An emulator on a free port of 127.0.0.1 for the with-block; yields its endpoint.

    At the end, the secret values it stored are saved for the output scan, then it is stopped (stop_emulator),
    also when saving them failed.
    """
    port = _free_port()
    process = start_emulator(port, *extra_args)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        try:
            save_stored_secrets(endpoint, port)
        finally:
            stop_emulator(process, OUTPUTS / f"emulator-{port}.log")


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session. Tests use their own resource names so they do not collide."""
    with running_emulator() as endpoint:
        # Safety net: any boto3 client of this session (or of a playbook it runs) that is not given an
        # endpoint reaches the emulator, never AWS.
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield Emulator(endpoint)


@pytest.fixture(scope="module")
def zone(emulator, request):
    """The landing zone of a test file, seeded with its PREFIX and SUBNETS (default 3) compute subnets."""
    from emulator.seed import seed  # pylint: disable=import-outside-toplevel

    return seed(emulator.endpoint, prefix=request.module.PREFIX, subnet_count=getattr(request.module, "SUBNETS", 3))


@pytest.fixture(scope="module")
def site(zone):
    """The lifecycle playbooks' site settings for that landing zone (tests/lifecycle_helpers.site_settings)."""
    from lifecycle_helpers import site_settings  # pylint: disable=import-outside-toplevel,import-error

    return site_settings(zone)


@pytest.fixture
def emu(emulator):
    """The session emulator, with faults, timings and request log reset before and after the test.

    A request moto failed with a 500 during the test is an emulator defect: the test errors, naming the call.
    """
    emulator.reset()
    yield emulator
    failed = emulator.requests()["internal_errors"]
    emulator.reset()
    assert not failed, f"the emulator failed these requests with HTTP 500 (see its log for the traceback): {failed}"


class PlaybookRun:
    """The outcome of one ansible-playbook run: exit code, raw output, and per-task results (json callback)."""

    def __init__(self, completed):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        start = completed.stdout.find("{")
        self.json = json.loads(completed.stdout[start:]) if start >= 0 else {}

    def results(self, task_name):
        """The result of the task with that name on localhost."""
        for play in self.json.get("plays", []):
            for task in play["tasks"]:
                if task["task"]["name"] == task_name:
                    return task["hosts"]["localhost"]
        raise KeyError(f"no task named {task_name!r} in the run")

    @property
    def stats(self):
        return self.json.get("stats", {}).get("localhost", {})


def playbook_runner(emulator, folder, node_id):
    """Run a playbook (a list of tasks, or full YAML text) on localhost against ``emulator``, written to ``folder``;
    its output is kept under ``node_id`` for the secret scan.

    Tasks get ``module_defaults`` for ``group/obi.hpc_provisioner.aws`` (endpoint, region, fake credentials):
    that group holds amazon.aws's modules and this collection's, so all of them talk to the emulator only.
    """
    import yaml  # pylint: disable=import-outside-toplevel

    def run(tasks, extra_vars=None, verbosity=0, check=False, diff=False, name="playbook", kept=True):
        """kept=False: a run that prints a secret on purpose, left out of the suites' secret scan."""
        if isinstance(tasks, str):
            text = tasks
        else:
            connection = {"endpoint_url": emulator.endpoint, "region": REGION, "access_key": "testing",
                          "secret_key": "testing"}
            text = yaml.safe_dump([{
                "name": name, "hosts": "localhost", "connection": "local", "gather_facts": False,
                "module_defaults": {"group/obi.hpc_provisioner.aws": connection},
                "tasks": tasks,
            }], sort_keys=False)
        playbook = folder / f"{name}.yml"
        playbook.write_text(text)
        command = ["ansible-playbook", "-i", "localhost,", str(playbook)]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        command += ["-v"] * verbosity + (["--check"] if check else []) + (["--diff"] if diff else [])
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_SHOW_CUSTOM_STATS="1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION,
                   AWS_ENDPOINT_URL=emulator.endpoint)
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
        if kept:
            keep_output(node_id, name, completed.stdout, completed.stderr)
        return PlaybookRun(completed)

    return run


@pytest.fixture
def run_playbook(emulator, tmp_path, request):
    """Run a playbook against the emulator (playbook_runner), kept under the test's name."""
    return playbook_runner(emulator, tmp_path, request.node.nodeid)
