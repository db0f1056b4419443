"""Unit tests of node_assets: main() against moto in-process (mock_aws), with every AWS call recorded."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json
import tarfile

import boto3
import pytest
import yaml
from botocore.client import BaseClient
from moto import mock_aws

from ansible.module_utils.testing import patch_module_args
from ansible_collections.obi.hpc_provisioner.plugins.modules import node_assets

REGION = "us-east-1"
CONNECTION = {"region": REGION, "access_key": "testing", "secret_key": "testing"}
BUCKET = "infra"
KEYS = {"entry_script_key": "hpc_provisioner/node/on_node_configured.sh",
        "release_key": "hpc_provisioner/node/obi-hpc_provisioner-0.2.0.tar.gz",
        "node_vars_key": "hpc_provisioner/node/clusters/pcluster-v-p/node_vars.yml",
        "collection_key": "hpc_provisioner/node/clusters/pcluster-v-p/collection.tar.gz"}
READS = ("Head", "Get", "List")


@pytest.fixture
def calls(monkeypatch):
    """The module's AWS calls, as operation names, inside moto (the bucket exists)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        made = []
        original = BaseClient._make_api_call

        def recording(client, operation, params):
            made.append(operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)
        yield made


@pytest.fixture
def collection(tmp_path):
    """An installed collection (MANIFEST.json) with the node_bootstrap entry script."""
    root = tmp_path / "ansible_collections" / "obi" / "hpc_provisioner"
    (root / "roles" / "node_bootstrap" / "files").mkdir(parents=True)
    (root / "MANIFEST.json").write_text('{"collection_info": {"version": "0.2.0"}}')
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    script = root / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh"
    script.write_text("#!/bin/sh\necho configured\n")
    return root


def run(capsys, calls, check_mode=False, diff=False, **args):
    calls.clear()
    with patch_module_args(dict(CONNECTION, bucket=BUCKET, _ansible_check_mode=check_mode, _ansible_diff=diff, **args)), \
            pytest.raises(SystemExit):
        node_assets.main()
    return json.loads(capsys.readouterr().out)


def present(collection, node_vars=None, **overrides):
    options = dict(KEYS)
    options.update(entry_script=str(collection / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh"),
                   collection_path=str(collection), node_vars=node_vars or {"node_bootstrap_cluster_name": "pcluster-v-p"})
    options.update(overrides)  # pylint infers dict(a, **b) as repeated keywords when b overrides a
    return options


def writes(calls):
    return [operation for operation in calls if not operation.startswith(READS)]


def test_publishes_everything_once_then_makes_no_write(calls, capsys, collection):
    result = run(capsys, calls, **present(collection))
    assert result["actions"] == ["put_entry_script", "build_release", "put_release", "put_node_vars", "copy_release"]
    s3 = boto3.client("s3", region_name=REGION)
    assert yaml.safe_load(s3.get_object(Bucket=BUCKET, Key=KEYS["node_vars_key"])["Body"].read()) == {
        "node_bootstrap_cluster_name": "pcluster-v-p"}
    copy = s3.head_object(Bucket=BUCKET, Key=KEYS["collection_key"])
    assert copy["Metadata"]["source-etag"] == s3.head_object(Bucket=BUCKET, Key=KEYS["release_key"])["ETag"]
    again = run(capsys, calls, **present(collection))
    assert again["changed"] is False and again["actions"] == [] and writes(calls) == []
    assert len(calls) == 4  # one HeadObject per object


def test_the_release_holds_the_installed_collection_without_pycache(calls, capsys, collection, tmp_path):
    run(capsys, calls, **present(collection))
    tarball = tmp_path / "release.tar.gz"
    tarball.write_bytes(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=KEYS["release_key"])["Body"].read())
    with tarfile.open(tarball) as opened:
        names = opened.getnames()
    assert "./MANIFEST.json" in names and "./roles/node_bootstrap/files/on_node_configured.sh" in names
    assert not [name for name in names if "__pycache__" in name]


def test_only_what_changed_is_put(calls, capsys, collection):
    run(capsys, calls, **present(collection))
    changed = run(capsys, calls, diff=True, **present(collection, node_vars={"node_bootstrap_cluster_name": "other"}))
    assert changed["actions"] == ["put_node_vars"] and writes(calls) == ["PutObject"]
    assert changed["diff"]["before"][KEYS["node_vars_key"]] != changed["diff"]["after"][KEYS["node_vars_key"]]
    (collection / "MANIFEST.json").write_text('{"collection_info": {"version": "0.3.0"}}')
    upgraded = run(capsys, calls, **present(collection, release_key="hpc_provisioner/node/obi-hpc_provisioner-0.3.0.tar.gz",
                                            node_vars={"node_bootstrap_cluster_name": "other"}))
    assert upgraded["actions"] == ["build_release", "put_release", "copy_release"]


def test_check_mode_reports_and_writes_nothing(calls, capsys, collection):
    result = run(capsys, calls, check_mode=True, **present(collection))
    assert result["changed"] and "put_node_vars" in result["actions"] and writes(calls) == []
    assert boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_absent_deletes_the_clusters_objects_only(calls, capsys, collection):
    run(capsys, calls, **present(collection))
    result = run(capsys, calls, state="absent", node_vars_key=KEYS["node_vars_key"], collection_key=KEYS["collection_key"])
    assert result["actions"] == ["delete_node_vars", "delete_collection"]
    left = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(left) == sorted([KEYS["entry_script_key"], KEYS["release_key"]])
    again = run(capsys, calls, state="absent", node_vars_key=KEYS["node_vars_key"], collection_key=KEYS["collection_key"])
    assert again["changed"] is False and writes(calls) == []


def test_a_missing_entry_script_is_refused_before_any_call(calls, capsys, collection, tmp_path):
    result = run(capsys, calls, **present(collection, entry_script=str(tmp_path / "missing.sh")))
    assert result["failed"] and result["msg"] == f"entry_script: no such file {tmp_path / 'missing.sh'}"
    assert calls == []


def test_present_needs_its_options(calls, capsys):
    result = run(capsys, calls, **KEYS)
    assert result["failed"] and "entry_script" in result["msg"] and calls == []
