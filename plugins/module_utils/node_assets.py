# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The objects of the infra bucket that a cluster's nodes read at boot (node_assets, project_teardown).

Each object the collection puts carries the SHA-256 of its content in its metadata (``sha256``), so that a run tells
"the same" with one HeadObject, whatever encryption the bucket applies (an SSE-KMS object's ETag is not the MD5 of its
content, so ETags cannot be compared with local files). A cluster's copy of the collection records the ETag of the
release it was copied from (``source-etag``): a copy within S3 needs no download to be compared. An object put by
another tool (no such metadata) is put again once.
"""

import hashlib

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws

SHA256 = "sha256"
SOURCE_ETAG = "source-etag"


def sha256(content):
    return hashlib.sha256(content).hexdigest()


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
