"""Unit tests of node_assets: main() against moto in-process (mock_aws), with every AWS call recorded.

The release's content digest itself (the files ansible-galaxy selects, hashed): tests/functional/
test_node_assets_content.py.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import hashlib
import io
import json
import os
import re
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
        "release_prefix": "hpc_provisioner/node/obi-hpc_provisioner-0.2.0",
        "node_vars_key": "hpc_provisioner/node/clusters/pcluster-v-p/node_vars.yml",
        "collection_key": "hpc_provisioner/node/clusters/pcluster-v-p/collection.tar.gz"}
RELEASE = re.compile(re.escape(KEYS["release_prefix"]) + "-[0-9a-f]{16}[.]tar[.]gz")
READS = ("Head", "Get", "List")
ABSENT = {"state": "absent", "node_vars_key": KEYS["node_vars_key"], "collection_key": KEYS["collection_key"]}


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


def install(root):
    """Write root's FILES.json as ansible-galaxy does when it installs a collection (every file, its SHA-256)."""
    entries = [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1}]
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        relative = os.path.relpath(directory, root)
        for name in sorted(files):
            path = os.path.normpath(os.path.join(relative, name))
            if path not in ("MANIFEST.json", "FILES.json"):
                entries.append({"name": path, "ftype": "file", "chksum_type": "sha256", "format": 1,
                                "chksum_sha256": hashlib.sha256((root / path).read_bytes()).hexdigest()})
    (root / "FILES.json").write_text(json.dumps({"files": entries, "format": 1}))


@pytest.fixture
def collection(tmp_path):
    """An installed collection (MANIFEST.json, FILES.json) with the node_bootstrap entry script."""
    root = tmp_path / "ansible_collections" / "obi" / "hpc_provisioner"
    (root / "roles" / "node_bootstrap" / "files").mkdir(parents=True)
    (root / "MANIFEST.json").write_text('{"collection_info": {"version": "0.2.0"}}')
    script = root / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh"
    script.write_text("#!/bin/sh\necho configured\n")
    install(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    return root


@pytest.fixture
def source(tmp_path):
    """A source tree (galaxy.yml, its build_ignore leaving out docs/) with the entry script and a module."""
    # The module builds a source tree with the ansible-galaxy CLI, as on a controller; `ansible-test units` gives the
    # tests an ansible package without its CLI, so these run in the repository's pytest suite only.
    pytest.importorskip("ansible.cli.galaxy", reason="needs the ansible-galaxy CLI (not in ansible-test units)")
    root = tmp_path / "source"
    (root / "roles" / "node_bootstrap" / "files").mkdir(parents=True)
    (root / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh").write_text("#!/bin/sh\necho configured\n")
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "plugins" / "modules" / "thing.py").write_text("print('first')\n")
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text("not shipped\n")
    (root / "README.md").write_text("# obi.hpc_provisioner\n")
    (root / "galaxy.yml").write_text(yaml.safe_dump({
        "namespace": "obi", "name": "hpc_provisioner", "version": "0.2.0", "readme": "README.md", "authors": ["test"],
        "build_ignore": ["docs"]}))
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


def keys():
    return sorted(o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET).get("Contents", []))


def tar_member(key, name):
    """The content of a member of the tarball at key (name without a leading ./)."""
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as opened:
        member = next(m for m in opened.getmembers() if m.name.removeprefix("./") == name)
        return opened.extractfile(member).read()


def test_publishes_everything_once_then_makes_no_write(calls, capsys, collection):
    result = run(capsys, calls, **present(collection))
    assert result["actions"] == ["put_entry_script", "build_release", "put_release", "put_node_vars", "copy_release"]
    release = result["objects"]["release"]
    assert RELEASE.fullmatch(release) and release.endswith(f"-{result['release_digest'][:16]}.tar.gz")
    assert result["objects"]["collection"] == KEYS["collection_key"] and len(result["release_digest"]) == 64
    s3 = boto3.client("s3", region_name=REGION)
    assert yaml.safe_load(s3.get_object(Bucket=BUCKET, Key=KEYS["node_vars_key"])["Body"].read()) == {
        "node_bootstrap_cluster_name": "pcluster-v-p"}
    copy = s3.head_object(Bucket=BUCKET, Key=KEYS["collection_key"])
    assert copy["Metadata"]["source-etag"] == s3.head_object(Bucket=BUCKET, Key=release)["ETag"]
    again = run(capsys, calls, **present(collection))
    assert again["changed"] is False and again["actions"] == [] and writes(calls) == []
    assert again["objects"]["release"] == release
    assert len(calls) == 4  # one HeadObject per object


def test_the_release_holds_the_installed_collection_without_pycache(calls, capsys, collection, tmp_path):
    result = run(capsys, calls, **present(collection))
    tarball = tmp_path / "release.tar.gz"
    tarball.write_bytes(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=result["objects"]["release"])["Body"].read())
    with tarfile.open(tarball) as opened:
        names = opened.getnames()
    assert "./MANIFEST.json" in names and "./roles/node_bootstrap/files/on_node_configured.sh" in names
    assert not [name for name in names if "__pycache__" in name]


def test_an_installed_collection_is_named_after_its_files_json(calls, capsys, collection):
    first = run(capsys, calls, **present(collection))["objects"]["release"]
    (collection / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh").write_text("#!/bin/sh\necho changed\n")
    install(collection)  # the same version installed again with other code
    changed = run(capsys, calls, **present(collection))
    assert changed["actions"] == ["put_entry_script", "build_release", "put_release", "copy_release"]
    assert RELEASE.fullmatch(changed["objects"]["release"]) and changed["objects"]["release"] != first
    assert tar_member(KEYS["collection_key"], "roles/node_bootstrap/files/on_node_configured.sh") == b"#!/bin/sh\necho changed\n"


def test_a_change_of_code_that_keeps_the_version_is_a_new_release(calls, capsys, source):
    s3 = boto3.client("s3", region_name=REGION)
    first = run(capsys, calls, **present(source))
    assert first["actions"] == ["put_entry_script", "build_release", "put_release", "put_node_vars", "copy_release"]
    assert RELEASE.fullmatch(first["objects"]["release"])
    assert b"docs/notes.md" not in tar_member(first["objects"]["release"], "FILES.json")
    # Times, and files that the build leaves out (galaxy.yml's build_ignore), are not the content: no write.
    for path in source.rglob("*"):
        os.utime(path, (1, 1))
    (source / "docs" / "notes.md").write_text("edited, still not shipped\n")
    same = run(capsys, calls, **present(source))
    assert same["actions"] == [] and writes(calls) == [] and same["objects"]["release"] == first["objects"]["release"]

    (source / "plugins" / "modules" / "thing.py").write_text("print('second')\n")
    checked = run(capsys, calls, check_mode=True, diff=True, **present(source))
    new_key = checked["objects"]["release"]
    assert RELEASE.fullmatch(new_key) and new_key != first["objects"]["release"] and writes(calls) == []
    assert checked["actions"] == ["build_release", "put_release", "copy_release"]
    assert checked["diff"]["before"][new_key] is None and checked["diff"]["after"][new_key] == "(new release)"
    assert checked["diff"]["after"][KEYS["collection_key"]] == "(new release)"
    assert new_key not in keys()

    changed = run(capsys, calls, diff=True, **present(source))
    assert changed["actions"] == ["build_release", "put_release", "copy_release"]
    assert changed["objects"] == dict(first["objects"], release=new_key)  # the cluster's key stays the same
    assert changed["release_digest"] == checked["release_digest"] != first["release_digest"]
    published = s3.head_object(Bucket=BUCKET, Key=new_key)["ETag"]
    assert s3.head_object(Bucket=BUCKET, Key=KEYS["collection_key"])["Metadata"]["source-etag"] == published
    assert changed["diff"]["after"][KEYS["collection_key"]] == published
    assert tar_member(KEYS["collection_key"], "plugins/modules/thing.py") == b"print('second')\n"
    assert first["objects"]["release"] in keys()  # releases stay: another cluster may still be on one
    again = run(capsys, calls, **present(source))
    assert again["actions"] == [] and writes(calls) == [] and len(calls) == 4


def test_a_build_that_differs_from_the_digest_is_not_put(calls, capsys, source, monkeypatch):
    real = node_assets.source_files
    monkeypatch.setattr(node_assets, "source_files", lambda *args: dict(real(*args), **{"docs/notes.md": "0" * 64}))
    result = run(capsys, calls, **present(source))
    assert result["failed"] and "does not hold the files that its key's digest covers" in result["msg"]
    assert result["msg"].endswith(": docs/notes.md")
    assert not [key for key in keys() if RELEASE.fullmatch(key)] and KEYS["collection_key"] not in keys()


@pytest.mark.parametrize("layout, message", [
    ({"MANIFEST.json": "{}"}, "holds neither galaxy.yml nor MANIFEST.json and FILES.json"),
    ({}, "holds neither galaxy.yml nor MANIFEST.json and FILES.json"),
    ({"galaxy.yml": "namespace: obi\nname: hpc_provisioner\nmanifest:\n  directives: [include README.md]\n"},
     "selects its files with manifest directives"),
])
def test_a_collection_path_it_cannot_name_is_refused_before_any_call(calls, capsys, collection, tmp_path, layout, message):
    other = tmp_path / "other"
    other.mkdir()
    for name, text in layout.items():
        (other / name).write_text(text)
    result = run(capsys, calls, **present(collection, collection_path=str(other)))
    assert result["failed"] and message in result["msg"] and calls == []


def test_only_what_changed_is_put(calls, capsys, collection):
    run(capsys, calls, **present(collection))
    changed = run(capsys, calls, diff=True, **present(collection, node_vars={"node_bootstrap_cluster_name": "other"}))
    assert changed["actions"] == ["put_node_vars"] and writes(calls) == ["PutObject"]
    assert changed["diff"]["before"][KEYS["node_vars_key"]] != changed["diff"]["after"][KEYS["node_vars_key"]]
    (collection / "MANIFEST.json").write_text('{"collection_info": {"version": "0.3.0"}}')
    upgraded = run(capsys, calls, **present(collection, release_prefix="hpc_provisioner/node/obi-hpc_provisioner-0.3.0",
                                            node_vars={"node_bootstrap_cluster_name": "other"}))
    assert upgraded["actions"] == ["build_release", "put_release", "copy_release"]
    assert upgraded["objects"]["release"].startswith("hpc_provisioner/node/obi-hpc_provisioner-0.3.0-")


def test_check_mode_reports_and_writes_nothing(calls, capsys, collection):
    result = run(capsys, calls, check_mode=True, **present(collection))
    assert result["changed"] and "put_node_vars" in result["actions"] and writes(calls) == []
    assert RELEASE.fullmatch(result["objects"]["release"])  # the key it would publish, named without a build
    assert keys() == []


def test_absent_deletes_the_clusters_objects_only(calls, capsys, collection):
    release = run(capsys, calls, **present(collection))["objects"]["release"]
    result = run(capsys, calls, **ABSENT)
    assert result["actions"] == ["delete_node_vars", "delete_collection"]
    assert "release" not in result["objects"] and "release_digest" not in result
    assert keys() == sorted([KEYS["entry_script_key"], release])
    again = run(capsys, calls, **ABSENT)
    assert again["changed"] is False and writes(calls) == []


def test_a_missing_entry_script_is_refused_before_any_call(calls, capsys, collection, tmp_path):
    result = run(capsys, calls, **present(collection, entry_script=str(tmp_path / "missing.sh")))
    assert result["failed"] and result["msg"] == f"entry_script: no such file {tmp_path / 'missing.sh'}"
    assert calls == []


def test_present_needs_its_options(calls, capsys):
    result = run(capsys, calls, **KEYS)
    assert result["failed"] and "entry_script" in result["msg"] and calls == []
    result = run(capsys, calls, **{key: value for key, value in KEYS.items() if key != "release_prefix"},
                 entry_script="x", collection_path="y", node_vars={})
    assert result["failed"] and "release_prefix" in result["msg"] and calls == []
