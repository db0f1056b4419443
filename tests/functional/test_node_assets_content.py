"""Tests of the release's content digest (plugins/module_utils/node_assets.py: source_files, files_json_entries,
content_digest): the files are those that `ansible-galaxy collection build` puts in the tarball, and the digest
depends on their paths and bytes only.

What node_assets does with it (the release's key, a new release for new code): tests/unit/plugins/modules/
test_node_assets.py. Here, not in tests/unit, since they compare with ansible-core's own build code
(ansible.galaxy, the ansible-galaxy CLI), which `ansible-test units` does not provide.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.collection import _build_files_manifest_walk

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import node_assets

# This collection's root (the repository: a source tree with galaxy.yml).
ROOT = Path(__file__).resolve().parents[2]
BUILD_IGNORE = ["docs", "roles/*/molecule", "*.pid", "tests/functional"]


def galaxy_selection(root, build_ignore):
    """{path: SHA-256} of the files that ansible-galaxy's own walk selects (the one a build uses)."""
    walked = _build_files_manifest_walk(os.fsencode(root), "obi", "hpc_provisioner", build_ignore)
    return {entry["name"]: entry["chksum_sha256"] for entry in walked["files"] if entry["ftype"] == "file"}


def write(path, text="x\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path):
    """A source tree with what a build keeps and each kind of thing it leaves out, symbolic links included."""
    root = tmp_path / "collection"
    galaxy = {"namespace": "obi", "name": "hpc_provisioner", "version": "0.1.0", "readme": "README.md",
              "authors": ["test"], "build_ignore": BUILD_IGNORE}
    write(root / "galaxy.yml", yaml.safe_dump(galaxy))
    kept = ["README.md", "plugins/modules/a.py", "roles/r/tasks/main.yml", "tests/unit/test_a.py",
            "sub/obi-hpc_provisioner-0.1.0.tar.gz", "roles/r/files/.hidden", "x/.git"]  # .git: a directory, or the root's
    left_out = ["MANIFEST.json", "FILES.json", "plugins/modules/a.pyc", "plugins/modules/__pycache__/a.cpython-312.pyc",
                ".git/config", "docs/index.md", "roles/r/molecule/default/converge.yml", "tests/output/log",
                "tests/functional/test_x.py", "obi-hpc_provisioner-0.1.0.tar.gz", "emulator.pid", "a.retry",
                ".tox/x", "sub/CVS/Entries", "sub/.hg/store"]
    for name in kept + left_out:
        write(root / name, f"content of {name}\n")
    (root / "empty").mkdir()
    (root / "plugins" / "doc_link.py").symlink_to("modules/a.py")  # a link to a file: kept with its target's content
    (root / "roles" / "linked").symlink_to("r")  # a link to a directory inside: kept as a link, not walked
    write(tmp_path / "outside" / "secret.txt")
    (root / "outside").symlink_to(tmp_path / "outside")  # a link to a directory outside: left out
    return root


def test_the_files_are_those_ansible_galaxy_builds(tree):
    files = node_assets.source_files(str(tree), "obi", "hpc_provisioner", BUILD_IGNORE)
    assert files == galaxy_selection(tree, BUILD_IGNORE)
    assert {"README.md", "plugins/modules/a.py", "plugins/doc_link.py", "sub/obi-hpc_provisioner-0.1.0.tar.gz",
            "roles/r/files/.hidden", "tests/unit/test_a.py", "x/.git"} <= set(files)
    assert not {name for name in files if name.startswith(("docs", "outside", "roles/linked", "tests/functional", ".git"))}
    assert files["plugins/doc_link.py"] == files["plugins/modules/a.py"]


def test_a_built_tarball_lists_the_same_files(tree, tmp_path):
    """The real build: its FILES.json (what an installed collection has) gives the same files, so the same digest."""
    (tree / "outside").unlink()  # ansible-galaxy warns about it; the walk test covers it
    subprocess.run([sys.executable, "-m", "ansible.cli.galaxy", "collection", "build", "--output-path", str(tmp_path),
                    str(tree)], check=True, capture_output=True)
    with tarfile.open(tmp_path / "obi-hpc_provisioner-0.1.0.tar.gz") as built:
        packed = node_assets.files_json_entries(built.extractfile("FILES.json").read().decode("utf-8"))
    files = node_assets.source_files(str(tree), "obi", "hpc_provisioner", BUILD_IGNORE)
    assert packed == files and node_assets.content_digest(packed) == node_assets.content_digest(files)


def test_this_collections_files_are_those_ansible_galaxy_builds():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    files = node_assets.source_files(str(ROOT), galaxy["namespace"], galaxy["name"], galaxy.get("build_ignore"))
    assert files == galaxy_selection(ROOT, galaxy.get("build_ignore") or [])
    assert "plugins/modules/node_assets.py" in files and not [name for name in files if name.startswith((".venv/", ".git/"))]


def test_the_digest_is_the_paths_and_bytes_not_the_times(tree):
    def digest():
        return node_assets.content_digest(node_assets.source_files(str(tree), "obi", "hpc_provisioner", BUILD_IGNORE))

    first = digest()
    for path in tree.rglob("*"):
        os.utime(path, (1, 1), follow_symlinks=False)
    write(tree / "docs" / "index.md", "edited, still left out\n")
    write(tree / "plugins" / "modules" / "__pycache__" / "b.cpython-312.pyc", "new bytecode\n")
    assert digest() == first
    write(tree / "plugins" / "modules" / "a.py", "changed\n")
    changed = digest()
    assert changed != first
    (tree / "plugins" / "modules" / "a.py").rename(tree / "plugins" / "modules" / "b.py")
    assert digest() not in (first, changed)  # the same bytes under another path


def test_the_digest_does_not_depend_on_the_order_of_the_files():
    files = {"b": "2" * 64, "a": "1" * 64}
    assert node_assets.content_digest(files) == node_assets.content_digest(dict(sorted(files.items())))
    assert node_assets.content_digest({"a": "1" * 64}) != node_assets.content_digest({"a": "2" * 64})
    assert node_assets.content_digest({"ab": "1" * 64}) != node_assets.content_digest({"a": "b" + "1" * 63})


def test_files_json_gives_the_files_and_leaves_out_directories():
    text = ('{"files": [{"name": ".", "ftype": "dir", "chksum_type": null, "chksum_sha256": null, "format": 1},'
            ' {"name": "roles", "ftype": "dir", "chksum_type": null, "chksum_sha256": null, "format": 1},'
            ' {"name": "roles/x.yml", "ftype": "file", "chksum_type": "sha256", "chksum_sha256": "ab", "format": 1}],'
            ' "format": 1}')
    assert node_assets.files_json_entries(text) == {"roles/x.yml": "ab"}
