# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The FSx calls of the fsx_dra modules: thin wrappers that retry by the collection's policy and name what failed.

The client comes from ``aws.client()``: every call is made with ``aws_retry=True``, so throttling
(``ThrottlingException`` for FSx), AWS's transient errors and lost connections are retried by ``aws.RETRY``
alone (botocore's own retries are off). A retried create is harmless because its ClientRequestToken is
deterministic (see fsx_dra.client_request_token). Errors become FsxAWSError through amazon.aws's
AWSErrorHandler: "Failed to <what the call was for>", the boto3 error attached.
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_dra import DraError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_match

PAGE_SIZE = 25  # the most DescribeDataRepositoryAssociations returns per call
NOT_FOUND = ("FileSystemNotFound", "DataRepositoryAssociationNotFound")


class FsxAWSError(AnsibleAWSError):
    """An FSx call failed; the message says what it was for."""


class FsxErrorHandler(AWSErrorHandler):
    """amazon.aws's error handler for FSx: FsxAWSError, and a missing file system or association is not an error."""

    _CUSTOM_EXCEPTION = FsxAWSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(NOT_FOUND))


def pages(call, key, **kwargs):
    """Every item of DescribeDataRepositoryAssociations, following NextToken, in the order AWS gives them.

    By hand because boto3 has no paginator for this operation (``can_paginate`` is false; DescribeFileSystems
    has one, used through ``aws.paginate``). Each call is retried on its own.
    """
    items, token = [], None
    while True:
        page = call(aws_retry=True, **kwargs, **({"NextToken": token} if token else {}))
        items.extend(page.get(key) or [])
        token = page.get("NextToken")
        if not token:
            return items


class FsxApi:
    """File systems and data repository associations of one region."""

    def __init__(self, client):
        self.client = client

    @classmethod
    def from_module(cls, module):
        return cls(aws.client(module, "fsx"))

    # ---------------------------------------------------------------------------------- file systems

    @FsxErrorHandler.list_error_handler("describe file system {file_system_id}")
    def file_system(self, file_system_id):
        """The file system's description, or None when it does not exist."""
        found = self.client.describe_file_systems(aws_retry=True, FileSystemIds=[file_system_id])
        return next(iter(found.get("FileSystems") or []), None)

    @FsxErrorHandler.common_error_handler("describe the file systems named {name}")
    def file_systems_named(self, name):
        """The Lustre file systems whose Name tag is ``name`` (not those being deleted)."""
        file_systems = aws.paginate(self.client, "describe_file_systems")["FileSystems"]
        lustre = [fs for fs in file_systems if fs.get("FileSystemType") == "LUSTRE" and fs.get("Lifecycle") != "DELETING"]
        return [fs for fs in lustre if tags_match(fs.get("Tags") or [], {"Name": name})]

    def find_file_system(self, file_system_id=None, name=None):
        """The file system given by id or by Name tag, or None; DraError when the name is ambiguous."""
        if file_system_id:
            return self.file_system(file_system_id)
        candidates = self.file_systems_named(name)
        if len(candidates) > 1:
            ids = ", ".join(sorted(fs["FileSystemId"] for fs in candidates))
            raise DraError(f"file_system_name: {len(candidates)} Lustre file systems are tagged Name={name} ({ids}): "
                           "give file_system_id instead")
        return candidates[0] if candidates else None

    # ---------------------------------------------------------------------------------- associations

    def associations(self, file_system_id=None):
        """All associations, of one file system when ``file_system_id`` is given, following every page."""
        filters = [{"Name": "file-system-id", "Values": [file_system_id]}] if file_system_id else []
        return self._associations(filters, file_system_id or "all file systems")

    @FsxErrorHandler.common_error_handler("describe the data repository associations of {subject}")
    def _associations(self, filters, subject):  # pylint: disable=unused-argument  # subject: the error's wording
        return pages(self.client.describe_data_repository_associations, "Associations", Filters=filters,
                     MaxResults=PAGE_SIZE)

    @FsxErrorHandler.list_error_handler("describe data repository association {association_id}")
    def association(self, association_id):
        """The association's description, or None once it is gone."""
        found = self.client.describe_data_repository_associations(aws_retry=True, AssociationIds=[association_id])
        return next(iter(found.get("Associations") or []), None)

    def associations_by_id(self, association_ids):
        """The associations that exist among ``association_ids`` (one unknown id fails AWS's whole call)."""
        found = [self.association(association_id) for association_id in association_ids]
        return [association for association in found if association]

    @FsxErrorHandler.common_error_handler(
        "create the data repository association {request[FileSystemId]}:{request[FileSystemPath]}")
    def create(self, request):
        return self.client.create_data_repository_association(aws_retry=True, **request)["Association"]

    @FsxErrorHandler.common_error_handler("update data repository association {association_id}")
    def update(self, association_id, members):
        return self.client.update_data_repository_association(aws_retry=True, AssociationId=association_id,
                                                              **members)["Association"]

    @FsxErrorHandler.deletion_error_handler("delete data repository association {association_id}")
    def delete(self, association_id, delete_data_in_file_system):
        """Start the delete; an association already gone is not an error (a retried or concurrent delete)."""
        self.client.delete_data_repository_association(
            aws_retry=True, AssociationId=association_id, DeleteDataInFileSystem=delete_data_in_file_system)

    def retag(self, resource_arn, to_set, to_unset):
        """Set and remove tags of an association (TagResource, UntagResource)."""
        if to_unset:
            self._untag(resource_arn, to_unset)
        if to_set:
            self._tag(resource_arn, to_set)

    @FsxErrorHandler.common_error_handler("remove tags from {resource_arn}")
    def _untag(self, resource_arn, tag_keys):
        self.client.untag_resource(aws_retry=True, ResourceARN=resource_arn, TagKeys=list(tag_keys))

    @FsxErrorHandler.common_error_handler("tag {resource_arn}")
    def _tag(self, resource_arn, tags):
        self.client.tag_resource(aws_retry=True, ResourceARN=resource_arn, Tags=ansible_dict_to_boto3_tag_list(tags))
