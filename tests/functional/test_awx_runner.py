"""The lifecycle playbooks run as AWX runs them: ansible-runner on an AWX-style private data directory.

AWX hands a job to ansible-runner as a private data directory (env/extravars, env/envvars, inventory/, project/) and
reads the job's result from the `artifact_data` of its `playbook_on_stats` event. These tests do the same against the
emulator, and check that no job event carries a private key.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import json
import os
import shutil
import sys
from pathlib import Path

import ansible_runner
import pytest
import yaml

from conftest import output_dir


PREFIX = "awx"
SUBNETS = 2
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def job(emulator, tmp_path, request):
    """Run one job template's playbook from a fresh private data directory; returns the runner.

    Its artifacts (job events, stdout) are kept for the secret scan of the suites' outputs (scripts/scan_secrets.py).
    """

    def run(playbook, extra_vars):
        private = tmp_path / playbook.replace("/", "_")
        (private / "env").mkdir(parents=True)
        (private / "inventory").mkdir()
        (private / "env" / "extravars").write_text(yaml.safe_dump(extra_vars))
        (private / "env" / "envvars").write_text(yaml.safe_dump({
            "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections")),
        }))
        (private / "inventory" / "hosts").write_text("localhost ansible_connection=local\n")
        (private / "project").symlink_to(REPO_ROOT)  # the AWX project: this repository
        runner = ansible_runner.run(private_data_dir=str(private), playbook=playbook, quiet=True, timeout=600)
        shutil.copytree(private / "artifacts", output_dir(request.node.nodeid) / f"{private.name}-artifacts",
                        dirs_exist_ok=True)
        return runner

    return run


def artifacts(runner):
    (stats,) = [e for e in runner.events if e["event"] == "playbook_on_stats"]
    return stats["event_data"]["artifact_data"]


def private_keys(emulator, names):
    secrets = emulator.client("secretsmanager")
    return [secrets.get_secret_value(SecretId=name)["SecretString"] for name in names]


def test_create_and_delete_through_ansible_runner(emulator, job, site):
    request = dict(site, vlab_id="awxv", project_id="p1", accounting="database")
    created = job("playbooks/create.yml", request)
    result = artifacts(created)
    assert created.rc == 0, created.stdout.read()[-3000:]
    assert result["operation"] == "create" and result["error"] is None
    assert result["clusterName"] == "pcluster-awxv-p1" and result["clusterStatus"] == "CREATE_REQUEST_RECEIVED"
    assert result["ssh_user"] == "sim" and result["user_private_ssh_key_arn"].startswith("arn:aws:secretsmanager:")

    keys = private_keys(emulator, [result["admin_private_ssh_key_arn"], result["user_private_ssh_key_arn"]])
    assert all("PRIVATE KEY" in key for key in keys)
    bodies = [line for key in keys for line in key.splitlines()[1:-1] if len(line) > 20]
    events = json.dumps(list(created.events))
    assert "PRIVATE KEY" not in events and not [body for body in bodies if body in events]

    described = job("playbooks/describe.yml", dict(site, vlab_id="awxv", project_id="p1"))
    assert described.rc == 0 and artifacts(described)["cluster"]["cluster_name"] == "pcluster-awxv-p1"

    deleted = job("playbooks/delete.yml", dict(site, vlab_id="awxv", project_id="p1"))
    assert deleted.rc == 0, deleted.stdout.read()[-3000:]
    assert artifacts(deleted)["clusterStatus"] == "DELETE_COMPLETE"
    clusters = emulator.client("cloudformation").describe_stacks()["Stacks"]
    assert "pcluster-awxv-p1" not in {s["StackName"] for s in clusters}


def test_a_failed_job_hands_back_the_error(job, site):
    failed = job("playbooks/create.yml", dict(site, vlab_id="awxv", project_id="p2", tier="huge"))
    assert failed.rc != 0 and failed.status == "failed"
    error = artifacts(failed)["error"]
    assert 'tier: "huge" is not valid: one of debug,' in error["message"], error
    assert error["task"] == "Check the request", error
