"""Shared fixtures: one emulator process per test session, reached over HTTP on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


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


def start_emulator(port, *extra_args):
    """Start `python -m emulator` and wait until its control endpoint answers; returns the Popen."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port), *extra_args],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}: {process.stdout.read()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).close()
            return process
        except OSError:
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    process.kill()
    raise RuntimeError("emulator did not answer within 30 s")


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session. Tests use their own resource names so they do not collide."""
    port = _free_port()
    process = start_emulator(port)
    try:
        yield Emulator(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def emu(emulator):
    """The session emulator, with faults, timings and request log reset before and after the test."""
    emulator.reset()
    yield emulator
    emulator.reset()
