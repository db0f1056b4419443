"""node_assets on the emulator over HTTP, with a copy of this collection's source tree as it is (galaxy.yml and its
build_ignore, built with ansible-galaxy): the release's key carries the digest of the files the nodes install, so a
change of code that keeps the version reaches the cluster, and the same code makes no write.

In the create playbook: tests/functional/test_lifecycle.py (test_create_describe_list_update_delete).
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # the test names say what they check; fixtures

import io
import os
import re
import tarfile

import pytest
import yaml

from lifecycle_helpers import collection_copy, writes
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import node_assets

BUCKET = "nat-infra"
PREFIX = "hpc_provisioner/node"
CLUSTER = f"{PREFIX}/clusters/pcluster-nat-p1"
TASK = "Publish what the cluster's nodes read at boot"


@pytest.fixture(scope="module")
def bucket(emulator):
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def collection(tmp_path):
    return collection_copy(tmp_path / "ansible_collections" / "obi" / "hpc_provisioner")


def publish(run_playbook, collection, state="present", **options):
    version = yaml.safe_load((collection / "galaxy.yml").read_text())["version"]
    args = {"bucket": BUCKET, "state": state, "node_vars_key": f"{CLUSTER}/node_vars.yml",
            "collection_key": f"{CLUSTER}/collection.tar.gz"}
    if state == "present":
        args.update(entry_script=str(collection / "roles" / "node_bootstrap" / "files" / "on_node_configured.sh"),
                    entry_script_key=f"{PREFIX}/on_node_configured.sh", collection_path=str(collection),
                    release_prefix=f"{PREFIX}/obi-hpc_provisioner-{version}",
                    node_vars={"node_bootstrap_cluster_name": "pcluster-nat-p1"})
    run = run_playbook([{"name": TASK, "obi.hpc_provisioner.node_assets": args}], **options)
    assert run.rc == 0, run.stdout[-3000:]
    return run.results(TASK)


def tarball(emu, key):
    """{name: bytes} of the files of the tarball at key."""
    body = emu.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as opened:
        return {m.name.removeprefix("./"): opened.extractfile(m).read() for m in opened.getmembers() if m.isfile()}


def test_a_change_of_code_that_keeps_the_version_reaches_the_cluster(emu, run_playbook, bucket, collection):
    s3 = emu.client("s3")
    first = publish(run_playbook, collection)
    assert first["actions"] == ["put_entry_script", "build_release", "put_release", "put_node_vars", "copy_release"]
    release = first["objects"]["release"]
    assert re.fullmatch(rf"{PREFIX}/obi-hpc_provisioner-0[.]1[.]0-{first['release_digest'][:16]}[.]tar[.]gz", release)
    # The digest is that of the tarball the nodes install: its FILES.json, the files the copy holds for a build.
    files = tarball(emu, release)
    listed = node_assets.files_json_entries(files["FILES.json"].decode("utf-8"))
    assert node_assets.content_digest(listed) == first["release_digest"]
    assert set(listed) == set(files) - {"MANIFEST.json", "FILES.json"}
    assert "plugins/modules/node_assets.py" in listed and not [name for name in listed if name.startswith("emulator/")]

    emu.control("DELETE", "requests")
    assert publish(run_playbook, collection)["actions"] == [] and writes(emu) == 0
    # Other times, and a file that the build leaves out (galaxy.yml's build_ignore), are the same content.
    for path in collection.rglob("*"):
        os.utime(path, (1, 1), follow_symlinks=False)
    with open(collection / "docs" / "development.md", "a", encoding="utf-8") as docs:
        docs.write("\nNot in the tarball.\n")
    assert publish(run_playbook, collection)["objects"]["release"] == release and writes(emu) == 0

    task_file = collection / "roles" / "node_bootstrap" / "tasks" / "main.yml"
    task_file.write_text(task_file.read_text() + "# changed, version kept\n")
    checked = publish(run_playbook, collection, check=True, diff=True)
    changed_key = checked["objects"]["release"]
    assert checked["actions"] == ["build_release", "put_release", "copy_release"] and changed_key != release
    assert writes(emu) == 0 and changed_key not in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]

    changed = publish(run_playbook, collection)
    assert changed["actions"] == ["build_release", "put_release", "copy_release"]
    assert changed["objects"] == dict(first["objects"], release=changed_key)  # the cluster's key stays the same
    assert writes(emu) == 2  # the new release and the cluster's copy of it
    given = s3.head_object(Bucket=BUCKET, Key=f"{CLUSTER}/collection.tar.gz")
    assert given["Metadata"]["source-etag"] == s3.head_object(Bucket=BUCKET, Key=changed_key)["ETag"]
    assert tarball(emu, f"{CLUSTER}/collection.tar.gz")["roles/node_bootstrap/tasks/main.yml"] == task_file.read_bytes()

    emu.control("DELETE", "requests")
    again = publish(run_playbook, collection)
    assert again["actions"] == [] and again["objects"]["release"] == changed_key and writes(emu) == 0

    gone = publish(run_playbook, collection, state="absent")
    assert gone["actions"] == ["delete_node_vars", "delete_collection"]
    left = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert left == {f"{PREFIX}/on_node_configured.sh", release, changed_key}  # releases stay for other clusters
