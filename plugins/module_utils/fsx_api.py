# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The FSx calls of the fsx_dra modules: thin wrappers that retry throttling and name the failed operation.

Every call goes through amazon.aws's retrying client wrapper with ``aws_retry=True``: throttling
(``ThrottlingException`` for FSx, which AWSRetry's default list lacks) is retried with jittered backoff,
on top of botocore's own attempts. A retried create is harmless because its ClientRequestToken is
deterministic (see fsx_dra.client_request_token).
"""

from contextlib import contextmanager

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing boto3/botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_dra import DraError

RETRY = AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=20, catch_extra_error_codes=["ThrottlingException"])
PAGE_SIZE = 25  # the most DescribeDataRepositoryAssociations returns per call
NOT_FOUND = ("DataRepositoryAssociationNotFound",)


class FsxAWSError(AnsibleAWSError):
    """An FSx call failed; the message names the operation and what it was about."""


@contextmanager
def fsx_operation(operation, subject):
    """Turn a boto3 error into FsxAWSError("<operation> failed for <subject>")."""
    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise FsxAWSError(message=f"{operation} failed for {subject}", exception=error) from error


def _pages(call, key, **kwargs):
    """Every item of a paginated FSx describe call (NextToken), in the order AWS gives them."""
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
        return cls(module.client("fsx", retry_decorator=RETRY))

    # ---------------------------------------------------------------------------------- file systems

    def file_system(self, file_system_id):
        """The file system's description, or None when it does not exist."""
        with fsx_operation("DescribeFileSystems", file_system_id):
            try:
                found = self.client.describe_file_systems(aws_retry=True, FileSystemIds=[file_system_id])
            except is_boto3_error_code("FileSystemNotFound"):
                return None
        return next(iter(found.get("FileSystems") or []), None)

    def file_systems_named(self, name):
        """The Lustre file systems whose Name tag is ``name`` (not those being deleted)."""
        with fsx_operation("DescribeFileSystems", f"the file systems named {name}"):
            file_systems = _pages(self.client.describe_file_systems, "FileSystems")
        return [fs for fs in file_systems if fs.get("FileSystemType") == "LUSTRE" and fs.get("Lifecycle") != "DELETING"
                and any(tag["Key"] == "Name" and tag["Value"] == name for tag in fs.get("Tags") or [])]

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
        with fsx_operation("DescribeDataRepositoryAssociations", file_system_id or "all file systems"):
            return _pages(self.client.describe_data_repository_associations, "Associations", Filters=filters,
                          MaxResults=PAGE_SIZE)

    def association(self, association_id):
        """The association's description, or None once it is gone."""
        with fsx_operation("DescribeDataRepositoryAssociations", association_id):
            try:
                found = self.client.describe_data_repository_associations(aws_retry=True, AssociationIds=[association_id])
            except is_boto3_error_code(NOT_FOUND):
                return None
        return next(iter(found.get("Associations") or []), None)

    def associations_by_id(self, association_ids):
        """The associations that exist among ``association_ids`` (one unknown id fails AWS's whole call)."""
        found = [self.association(association_id) for association_id in association_ids]
        return [association for association in found if association]

    def create(self, request):
        subject = f"{request['FileSystemId']}:{request['FileSystemPath']}"
        with fsx_operation("CreateDataRepositoryAssociation", subject):
            return self.client.create_data_repository_association(aws_retry=True, **request)["Association"]

    def update(self, association_id, members):
        with fsx_operation("UpdateDataRepositoryAssociation", association_id):
            return self.client.update_data_repository_association(aws_retry=True, AssociationId=association_id,
                                                                  **members)["Association"]

    def delete(self, association_id, delete_data_in_file_system):
        """Start the delete; an association already gone is not an error (a retried or concurrent delete)."""
        with fsx_operation("DeleteDataRepositoryAssociation", association_id):
            try:
                self.client.delete_data_repository_association(
                    aws_retry=True, AssociationId=association_id, DeleteDataInFileSystem=delete_data_in_file_system)
            except is_boto3_error_code(NOT_FOUND):
                pass

    def retag(self, resource_arn, to_set, to_unset):
        """Set and remove tags of an association (TagResource, UntagResource)."""
        if to_unset:
            with fsx_operation("UntagResource", resource_arn):
                self.client.untag_resource(aws_retry=True, ResourceARN=resource_arn, TagKeys=list(to_unset))
        if to_set:
            with fsx_operation("TagResource", resource_arn):
                self.client.tag_resource(aws_retry=True, ResourceARN=resource_arn,
                                         Tags=ansible_dict_to_boto3_tag_list(to_set))
