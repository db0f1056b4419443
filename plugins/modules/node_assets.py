#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: node_assets
version_added: 0.1.0
short_description: What a cluster's nodes read from the infra bucket at boot, published in one run
description:
  - ParallelCluster's C(OnNodeConfigured) action runs, on every node, the node_bootstrap role's entry script, which
    installs this collection and runs the playbook C(obi.hpc_provisioner.node) with the cluster's node variables. With
    O(state=present) this module puts all of it in the infra bucket, each object only when it differs, as follows.
  - the entry script (O(entry_script) at O(entry_script_key));
  - this collection's release tarball, built from O(collection_path) and uploaded once, at a key named after its
    version and its content, O(release_prefix) then C(-<digest>.tar.gz). The digest is the first 16 hex digits of
    the SHA-256 of the sorted paths and SHA-256s of the files the tarball holds (the entries of its C(FILES.json)).
    A change of code that keeps the version is a new release, and the same code is the same key, so a re-run makes
    no write. The files are those of the installed collection's C(FILES.json), or, in a source tree, those that
    C(ansible-galaxy collection build) selects (its own ignores and C(galaxy.yml)'s C(build_ignore), read at each
    run); file times play no part. Hashing them is local and takes milliseconds.
  - the cluster's node variables (O(node_vars), as YAML, at O(node_vars_key));
  - the cluster's copy of the release at O(collection_key) (a key that never changes, so that a new collection
    version or content does not change the cluster's configuration; nodes configured after an upgrade install the new
    release, which is the code the controller ran).
  - With O(state=absent), it deletes the cluster's two objects (O(node_vars_key), O(collection_key)); the entry
    script and the releases are shared by every cluster and stay.
  - Every object it puts carries the SHA-256 of its content in its metadata, and the cluster's copy the ETag of the
    release it was copied from, so that a run compares with one C(HeadObject) per object whatever the bucket's
    encryption. An object put by another tool (without that metadata) is put again once.
  - One module run instead of one per object (about 0.5 s each, Python, imports and AWS clients).
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  bucket:
    description: The infra bucket.
    type: str
    required: true
  state:
    description:
      - V(present) puts what differs; V(absent) deletes the cluster's node variables and copy of the collection.
    type: str
    choices: [present, absent]
    default: present
  entry_script:
    description: The entry script on the controller (the node_bootstrap role's C(files/on_node_configured.sh)).
    type: path
  entry_script_key:
    description: Its key in O(bucket).
    type: str
  collection_path:
    description:
      - This collection on the controller, whose content names the release and which the release is built from when
        its key is missing in the bucket.
      - A source tree (with C(galaxy.yml)) is built with C(ansible-galaxy collection build), which applies its
        C(build_ignore) (a C(galaxy.yml) with C(manifest) directives is refused); before it is put, the built
        tarball's C(FILES.json) is checked against the files the digest covers, and the run fails naming the
        files that differ (a file changed during the build, or a build that selects files otherwise).
      - An installed collection (with C(MANIFEST.json) and C(FILES.json)) is packed as it is, without
        C(__pycache__); its C(FILES.json) gives the files' SHA-256s.
    type: path
  release_prefix:
    description:
      - The key of this collection version's releases in O(bucket) without its end, for example
        C(hpc_provisioner/node/obi-hpc_provisioner-0.2.0). The release's key is this, C(-), the content digest
        and C(.tar.gz) (returned as RV(objects.release)).
    type: str
  node_vars:
    description: The cluster's node variables (the cluster_config role's C(cluster_config_node_vars)).
    type: dict
  node_vars_key:
    description: Their key in O(bucket).
    type: str
    required: true
  collection_key:
    description: The key of the cluster's copy of the release in O(bucket).
    type: str
    required: true
notes:
  - Check mode makes no mutating call and builds nothing (it hashes the collection's files, to name the release);
    diff mode shows each object's SHA-256 (for the release and the cluster's copy, the release's ETag; none for a
    release not yet published) before and after.
  - Releases stay in the bucket when newer ones are published. Each cluster has its own copy, so an S3 lifecycle
    rule on the releases' key prefix (for example C(hpc_provisioner/node/obi-hpc_provisioner-)) may expire old ones;
    a release that is gone is built and put again when a run needs it (and copied again to the cluster).
  - "IAM: C(s3:GetObject) (for C(HeadObject)), C(s3:PutObject), C(s3:DeleteObject) on the objects, and C(s3:GetObject)
    on the release for the copy."
  - Throttling, AWS's transient server errors and lost connections are retried with jittered backoff.
seealso:
  - module: amazon.aws.s3_object
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Publish what the cluster's nodes read at boot
  obi.hpc_provisioner.node_assets:
    bucket: obi-hpc-infra-assets
    entry_script: "{{ collection_root }}/roles/node_bootstrap/files/on_node_configured.sh"
    entry_script_key: hpc_provisioner/node/on_node_configured.sh
    collection_path: "{{ collection_root }}"
    release_prefix: hpc_provisioner/node/obi-hpc_provisioner-0.2.0  # + -<content digest>.tar.gz
    node_vars: "{{ cluster_config_node_vars }}"
    node_vars_key: hpc_provisioner/node/clusters/pcluster-vlab1-p1/node_vars.yml
    collection_key: hpc_provisioner/node/clusters/pcluster-vlab1-p1/collection.tar.gz
  register: node_assets

- name: Say which release the cluster's nodes install
  ansible.builtin.debug:
    msg: "{{ node_assets.objects.release }} (content {{ node_assets.release_digest }})"

- name: Delete the cluster's node variables and copy of the collection
  obi.hpc_provisioner.node_assets:
    bucket: obi-hpc-infra-assets
    node_vars_key: hpc_provisioner/node/clusters/pcluster-vlab1-p1/node_vars.yml
    collection_key: hpc_provisioner/node/clusters/pcluster-vlab1-p1/collection.tar.gz
    state: absent
"""

RETURN = r"""
extends_documentation_fragment:
  - obi.hpc_provisioner.run
actions:
  description:
    - What the module did (or would do in check mode), in order. Items are V(put_entry_script),
      V(build_release), V(put_release), V(put_node_vars), V(copy_release), V(delete_node_vars) and
      V(delete_collection).
  sample: [put_node_vars, copy_release]
objects:
  description: The keys of the objects the module looked after, by role.
  returned: always
  type: dict
  contains:
    node_vars:
      description: The cluster's node variables (O(node_vars_key)).
      returned: always
      type: str
    collection:
      description: The cluster's copy of the release (O(collection_key)).
      returned: always
      type: str
    release:
      description: The release the cluster's copy is (to be) copied from, O(release_prefix) and the content digest.
      returned: when O(state=present)
      type: str
  sample:
    node_vars: hpc_provisioner/node/clusters/pcluster-vlab1-p1/node_vars.yml
    collection: hpc_provisioner/node/clusters/pcluster-vlab1-p1/collection.tar.gz
    release: hpc_provisioner/node/obi-hpc_provisioner-0.2.0-3f2a9c0d1e4b5a67.tar.gz
release_digest:
  description:
    - The SHA-256 of the collection's content (its key has the first 16 hex digits), from the sorted paths and
      SHA-256s of the files of the release.
  returned: when O(state=present)
  type: str
  sample: 3f2a9c0d1e4b5a67c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9
"""

import os
import sys
import tarfile
import tempfile

try:
    import yaml
except ImportError:
    HAS_YAML = False
else:
    HAS_YAML = True

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import RELEASE_DIGEST_LENGTH
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import Bucket
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import content_digest
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import files_json_entries
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import sha256
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import source_files
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run

PRESENT_OPTIONS = ("entry_script", "entry_script_key", "collection_path", "release_prefix", "node_vars")


def node_vars_text(node_vars):
    """The node variables as the nodes read them (a vars file): YAML, keys sorted, so that equal dicts give equal bytes."""
    return yaml.safe_dump(node_vars, default_flow_style=False, sort_keys=True, indent=2).encode("utf-8")


class AssetsRun(Run):
    """One run: compares each object with what it should be, and (unless in check mode) puts or deletes it."""

    def __init__(self, module, bucket, content=None):
        """content: {path: SHA-256} of the release's files (collection_content), with state=present."""
        super().__init__(module)
        self.bucket = bucket
        self.before, self.after = {}, {}
        self.content = content
        self.digest = content_digest(content) if content is not None else None
        self.release_key = None if content is None else (
            f"{self.params['release_prefix']}-{self.digest[:RELEASE_DIGEST_LENGTH]}.tar.gz")

    def _put_if_different(self, action, key, content):
        wanted, found = sha256(content), self.bucket.digest(key)
        self.before[key], self.after[key] = found, wanted
        if found != wanted:
            self._act(action, self.bucket.put, key, content)

    def present(self):
        params = self.params
        with open(params["entry_script"], "rb") as script:
            self._put_if_different("put_entry_script", params["entry_script_key"], script.read())
        release = self._release()
        self._put_if_different("put_node_vars", params["node_vars_key"], node_vars_text(params["node_vars"]))
        copied_from = self.bucket.copied_from(params["collection_key"])
        self.before[params["collection_key"]] = copied_from
        self.after[params["collection_key"]] = release
        if copied_from != release:
            self._act("copy_release", self.bucket.copy, self.release_key, params["collection_key"], release)
        self._set_diff(self.before, self.after)

    def _release(self):
        """The ETag of this content's release in the bucket, built and uploaded first when it is missing."""
        found = self.bucket.head(self.release_key)
        self.before[self.release_key] = self.after[self.release_key] = None if found is None else found["ETag"]
        if found is not None:
            return found["ETag"]
        self.actions.extend(["build_release", "put_release"])
        if self.check_mode:
            self.after[self.release_key] = "(new release)"
            return "(new release)"
        self.bucket.put(self.release_key, build_release(self.module, self.params["collection_path"], self.content))
        self.after[self.release_key] = self.bucket.head(self.release_key)["ETag"]
        return self.after[self.release_key]

    def values(self):
        """The run's own values in its result."""
        objects = {"node_vars": self.params["node_vars_key"], "collection": self.params["collection_key"]}
        if self.release_key is None:
            return {"objects": objects}
        return {"objects": dict(objects, release=self.release_key), "release_digest": self.digest}

    def absent(self):
        for action, key in (("delete_node_vars", self.params["node_vars_key"]),
                            ("delete_collection", self.params["collection_key"])):
            exists = self.bucket.head(key) is not None
            self.before[key], self.after[key] = exists, False
            if exists:
                self._act(action, self.bucket.delete, key)
        self._set_diff(self.before, self.after)


def is_source_tree(collection_path):
    return os.path.isfile(os.path.join(collection_path, "galaxy.yml"))


def collection_content(module, collection_path):
    """{path: SHA-256} of the files of this collection's release (before any AWS call: a wrong path fails first).

    A source tree's files as ``ansible-galaxy collection build`` selects them (galaxy.yml's build_ignore), an installed
    collection's from its FILES.json.
    """
    root = os.path.abspath(collection_path)
    if is_source_tree(root):
        with open(os.path.join(root, "galaxy.yml"), "rb") as opened:
            galaxy = yaml.safe_load(opened) or {}
        if "manifest" in galaxy:
            module.fail_json(msg=f"collection_path: {root}/galaxy.yml selects its files with manifest directives; the "
                                 "release's content digest follows build_ignore only")
        return source_files(root, galaxy.get("namespace"), galaxy.get("name"), galaxy.get("build_ignore"))
    if os.path.isfile(os.path.join(root, "MANIFEST.json")) and os.path.isfile(os.path.join(root, "FILES.json")):
        with open(os.path.join(root, "FILES.json"), encoding="utf-8") as opened:
            return files_json_entries(opened.read())
    return module.fail_json(msg=f"collection_path: {collection_path} holds neither galaxy.yml nor MANIFEST.json and FILES.json")


def build_release(module, collection_path, content):
    """This collection as a tarball that ansible-galaxy installs: built from a source tree, or an installed one packed.

    The tarball's FILES.json must list the files of ``content`` (what the release's key was named after), or the run
    fails naming those that differ.
    """
    with tempfile.TemporaryDirectory(suffix=".collection") as build_dir:
        if is_source_tree(collection_path):
            module.run_command([sys.executable, "-m", "ansible.cli.galaxy", "collection", "build", "--output-path",
                                build_dir, collection_path], check_rc=True)
            built = [name for name in os.listdir(build_dir) if name.endswith(".tar.gz")]
            path = os.path.join(build_dir, built[0])
        else:
            path = os.path.join(build_dir, "collection.tar.gz")
            with tarfile.open(path, "w:gz") as tarball:  # MANIFEST.json and FILES.json make it installable as it is
                tarball.add(collection_path, arcname=".", filter=lambda info: None if "__pycache__" in info.name else info)
        with tarfile.open(path) as tarball:
            member = next(m for m in tarball.getmembers() if m.name in ("FILES.json", "./FILES.json"))
            packed = files_json_entries(tarball.extractfile(member).read().decode("utf-8"))
        if packed != content:
            differing = sorted({name for name, _sha in set(packed.items()) ^ set(content.items())})
            more = f" and {len(differing) - 10} more" if len(differing) > 10 else ""
            module.fail_json(msg=f"The release built from {collection_path} does not hold the files that its key's "
                                 "digest covers (a file changed during the build, or the build selected other files): "
                                 f"{', '.join(differing[:10])}{more}")
        with open(path, "rb") as tarball:
            return tarball.read()


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            entry_script=dict(type="path"),
            entry_script_key=dict(type="str", no_log=False),
            collection_path=dict(type="path"),
            release_prefix=dict(type="str", no_log=False),
            node_vars=dict(type="dict"),
            node_vars_key=dict(type="str", required=True, no_log=False),
            collection_key=dict(type="str", required=True, no_log=False),
        ),
        required_if=[("state", "present", PRESENT_OPTIONS)],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    params = module.params
    if params["state"] == "present" and not os.path.isfile(params["entry_script"]):
        module.fail_json(msg=f"entry_script: no such file {params['entry_script']}")
    content = collection_content(module, params["collection_path"]) if params["state"] == "present" else None
    run = AssetsRun(module, Bucket(aws.client(module, "s3"), params["bucket"]), content)
    try:
        if params["state"] == "present":
            run.present()
        else:
            run.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot publish the node assets in bucket {params['bucket']}", **run.outcome())
    module.exit_json(**run.report(**run.values()))


if __name__ == "__main__":
    main()
