# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The objects of the infra bucket that a cluster's nodes read at boot (node_assets, project_teardown).

Each object the collection puts carries the SHA-256 of its content in its metadata (``sha256``), so that a run tells
"the same" with one HeadObject, whatever encryption the bucket applies (an SSE-KMS object's ETag is not the MD5 of its
content, so ETags cannot be compared with local files). A cluster's copy of the collection records the ETag of the
release it was copied from (``source-etag``): a copy within S3 needs no download to be compared. An object put by
another tool (no such metadata) is put again once.

A release of the collection is named after its content as well as its version (``content_digest``): the SHA-256 of
the sorted paths and SHA-256s of the files that its tarball holds, the entries of the tarball's ``FILES.json``. For an
installed collection they are its ``FILES.json``; for a source tree, ``source_files`` selects the files as
``ansible-galaxy collection build`` does (its own ignores and ``galaxy.yml``'s ``build_ignore``), and a built tarball
is checked against them (``files_json_entries``) before it is put. File times and the tarball's own bytes (not
reproducible) play no part, so a change of code that keeps the version is a new release, and the same code the same.
"""

import fnmatch
import hashlib
import json
import os

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws

SHA256 = "sha256"
SOURCE_ETAG = "source-etag"


# What ``ansible-galaxy collection build`` always leaves out of a source tree, before galaxy.yml's build_ignore
# (ansible.galaxy.collection._build_files_manifest_walk in ansible-core 2.21): patterns matched (fnmatch) with
# the path relative to the collection, and directory names left out wherever they are.
BUILD_IGNORED = ("MANIFEST.json", "FILES.json", "galaxy.yml", "galaxy.yaml", ".git", "*.pyc", "*.retry", "tests/output")
BUILD_IGNORED_DIRS = frozenset(("CVS", ".bzr", ".hg", ".git", ".svn", "__pycache__", ".tox"))
# The length of the content digest in a release's key (hex digits): 64 bits, a collision between two contents is negligible.
RELEASE_DIGEST_LENGTH = 16


def sha256(content):
    return hashlib.sha256(content).hexdigest()


def file_sha256(path):
    """The SHA-256 of a file's content (through a symbolic link, as a build reads it), None when there is none."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as opened:
        for block in iter(lambda: opened.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def source_files(root, namespace, name, build_ignore=()):
    """{path: SHA-256} of the files that ``ansible-galaxy collection build`` puts in the tarball of the source tree at root.

    The same walk as the build's: a directory is left out when its name is in BUILD_IGNORED_DIRS or its path matches a
    pattern (nothing under it is read), a file when its path matches one; a symbolic link to a directory outside the
    collection is left out, one inside is kept as a link (not walked).
    """
    patterns = list(BUILD_IGNORED) + [f"{namespace}-{name}-*.tar.gz"] + [str(pattern) for pattern in build_ignore or ()]
    files = {}

    def walk(directory, relative):
        for item in os.listdir(directory):
            path = os.path.join(directory, item)
            rel_path = os.path.join(relative, item) if relative else item
            ignored = any(fnmatch.fnmatch(rel_path, pattern) for pattern in patterns)
            if os.path.isdir(path):
                if ignored or item in BUILD_IGNORED_DIRS:
                    continue
                if os.path.islink(path):
                    target = os.path.realpath(path)
                    if target != root and not target.startswith(root + os.sep):
                        continue
                else:
                    walk(path, rel_path)
            elif not ignored:
                files[rel_path] = file_sha256(path)

    walk(root, "")
    return files


def files_json_entries(files_json):
    """{path: SHA-256} of the files in a collection's FILES.json (its text), directories left out."""
    return {entry["name"]: entry.get("chksum_sha256") for entry in json.loads(files_json)["files"] if entry["ftype"] == "file"}


def content_digest(files):
    """The SHA-256 (hex) of a release's content, {path: SHA-256}: one line per file, sorted by path."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path}\0{files[path] or ''}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class Bucket:
    """The objects of one bucket, through a module's S3 client (``aws.client``: one retry layer)."""

    def __init__(self, s3, name):
        self.s3 = aws.retrying(s3)
        self.name = name

    def head(self, key):
        """The object's HeadObject answer, or None when there is none."""
        try:
            return self.s3.head_object(Bucket=self.name, Key=key, aws_retry=True)
        except is_boto3_error_code(["404", "NoSuchKey", "NotFound"]):
            return None

    def digest(self, key):
        """The SHA-256 recorded on the object, None when it has none or does not exist."""
        found = self.head(key)
        return (found or {}).get("Metadata", {}).get(SHA256)

    def put(self, key, content, metadata=None):
        self.s3.put_object(Bucket=self.name, Key=key, Body=content, Metadata=dict(metadata or {}, **{SHA256: sha256(content)}),
                           aws_retry=True)

    def copy(self, source_key, key, source_etag):
        self.s3.copy_object(Bucket=self.name, Key=key, CopySource={"Bucket": self.name, "Key": source_key},
                            MetadataDirective="REPLACE", Metadata={SOURCE_ETAG: source_etag}, aws_retry=True)

    def copied_from(self, key):
        """The ETag of the release that the object was copied from, None when unknown or absent."""
        return ((self.head(key) or {}).get("Metadata") or {}).get(SOURCE_ETAG)

    def delete(self, key):
        """Delete the object (S3 answers a delete of a missing key as a success: callers head it first to tell)."""
        self.s3.delete_object(Bucket=self.name, Key=key, aws_retry=True)
