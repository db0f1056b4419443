"""The test head node (tests/head_node.py): a real Slurm head node in a container, configured by the collection's node
playbook, on the host's loopback against the emulator.

It publishes its SSH host key to the infra bucket; the deployment's sim key logs in over SSH, verified against that
key only; a job submitted with sbatch under the project's account completes and is accounted to it; the REST gate
answers with a token of the realm's key.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json
import subprocess
import time
import urllib.request
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conftest import REGION, keep_output  # pylint: disable=import-error
from head_node import SIM_USER, SlurmHeadNode, TokenIssuer, register_secret  # pylint: disable=import-error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

PREFIX = "hnd"


def sim_key_pair(folder):
    """A fresh ED25519 key pair as the deployment's sim key: (private key file, public key line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    register_secret(private)
    path = folder / "sim_key"
    path.touch(mode=0o600)
    path.write_text(private, encoding="utf-8")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return path, public


@pytest.fixture(scope="module")
def deployment(emulator, tmp_path_factory):
    """A project, its infra bucket and sim key pair, its realm's key and its head node (removed at the end)."""
    folder = tmp_path_factory.mktemp("head-node")
    vlab_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
    bucket = f"{PREFIX}-infra-{uuid.uuid4().hex[:12]}"
    emulator.client("s3").create_bucket(Bucket=bucket)
    key_file, public_key = sim_key_pair(folder)
    issuer = TokenIssuer()
    node = SlurmHeadNode(cluster=names.cluster_name(vlab_id, project_id, accounting="database"), vlab_id=vlab_id,
                         project_id=project_id, sim_public_key=public_key, infra_bucket=bucket,
                         endpoint_url=emulator.endpoint, region=REGION, data_dir=folder / "fsx",
                         jwks=issuer.jwks(), token_issuer=issuer.issuer)
    with node:
        yield {"node": node, "key_file": key_file, "issuer": issuer, "bucket": bucket, "folder": folder}


def ssh(deployment, request, *command):
    """``command`` as sim over SSH, the head node verified against its published host key only."""
    node, known_hosts = deployment["node"], deployment["folder"] / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{node.ssh_port} {node.host_key}\n", encoding="utf-8")
    completed = subprocess.run(
        ["ssh", "-p", str(node.ssh_port), "-i", str(deployment["key_file"]), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
         "-o", "ConnectTimeout=15", f"{SIM_USER}@127.0.0.1", *command],
        capture_output=True, text=True, timeout=60, check=False)
    keep_output(request.node.nodeid, "ssh", " ".join(command), completed.stdout, completed.stderr)
    return completed


def test_the_host_key_is_published(deployment, emulator):
    node = deployment["node"]
    names_ = names.cluster_resource_names(node.cluster)
    published = emulator.client("s3").get_object(Bucket=deployment["bucket"], Key=names_["host_key_key"])["Body"]
    key_line = node.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], check=True).stdout
    assert published.read().decode().split() == key_line.split()[:2]
    assert node.host_key.split() == key_line.split()[:2]


def test_a_job_submitted_over_ssh_is_accounted_to_the_project(deployment, request):
    node = deployment["node"]
    submitted = ssh(deployment, request, "sbatch", f"--account={node.project_id}", "--wrap", "hostname")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.split()[-1]
    assert submitted.stdout.startswith("Submitted batch job ") and job_id.isdigit(), submitted.stdout
    deadline, row = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        sacct = node.exec(["sacct", "--parsable2", "--noheader", "--allocations", f"--jobs={job_id}",
                           "--format=JobID,User,Account,State"], check=True)
        row = sacct.stdout.strip().split("|")
        if row[-1] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(1)
    assert row == [job_id, "sim", node.project_id, "COMPLETED"], row
    output = node.exec(["cat", f"{node.home}/slurm-{job_id}.out"], check=True).stdout
    assert output.strip() == node.node_name


def test_the_rest_gate_answers_ping_with_a_token(deployment):
    node = deployment["node"]
    request = urllib.request.Request(f"{node.rest_url}/slurm/{node.rest_api_version}/ping",
                                     headers={"Authorization": f"Bearer {deployment['issuer'].token('sim')}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert response.status == 200
    assert not body.get("errors"), body["errors"]
    assert [ping["hostname"] for ping in body["pings"]] == [node.node_name], body["pings"]
