# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Describe and list ParallelCluster clusters with boto3 alone, as pcluster's describe_cluster does.

Why not ``pcluster.lib.describe_cluster``: importing pcluster.lib costs ~0.75 s and ~75 MB, and its describe
also checks the artifact bucket (HeadBucket, HeadObject, two GetObject) before signing the configuration's
URL. A cluster is a CloudFormation stack tagged ``parallelcluster:version``; everything pcluster reports
comes from that stack (status, tags, parameters, outputs), the head node's EC2 instance (found by tags) and
the compute fleet item in the cluster's DynamoDB table. The same reads serve the pcluster_cluster module's
polling, so waiting never loads pcluster.
"""

import datetime
import itertools

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_match

# pcluster.constants
VERSION_TAG = "parallelcluster:version"
IMAGE_ID_TAG = "parallelcluster:image_id"
CLUSTER_NAME_TAG = "parallelcluster:cluster-name"
NODE_TYPE_TAG = "parallelcluster:node-type"
FLEET_TABLE_PREFIX = "parallelcluster-"
CONFIG_FILE_NAME = "cluster-config.yaml"

# pcluster.api.converters.cloud_formation_status_to_cluster_status; other stack statuses are cluster statuses as is.
# (tests/unit/plugins/module_utils/test_pcluster_describe.py holds this equal to pcluster's own table.)
CLUSTER_STATUS_OF_STACK_STATUS = {
    "ROLLBACK_IN_PROGRESS": "CREATE_FAILED",
    "ROLLBACK_FAILED": "CREATE_FAILED",
    "ROLLBACK_COMPLETE": "CREATE_FAILED",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED": "UPDATE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE": "UPDATE_FAILED",
}
# pcluster reads the fleet status only in these stack statuses (Cluster.compute_fleet_status_with_last_updated_time).
FLEET_READABLE_STACK_STATUSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS")
HEAD_NODE_STATES = ["pending", "running", "stopping", "stopped"]
# What pcluster reports when no failure reason is recognised (also used when pcluster itself is not installed).
GENERAL_CREATION_FAILURE = {"failure_code": "ClusterCreationFailure", "failure_reason": "Failed to create the cluster."}
FAILED_EVENT_LIMIT = 10
# A failed create leaves its failures in the newest events; do not read a long history: at most 5 pages of
# DescribeStackEvents (100 events each).
EVENT_READ_LIMIT = 500


def cluster_status(stack_status):
    return CLUSTER_STATUS_OF_STACK_STATUS.get(stack_status, stack_status)


def iso_time(value):
    """pcluster's time format (pcluster.utils.to_iso_timestr): ISO 8601 in UTC with milliseconds and a Z."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


def _tag_value(stack, key):
    return boto3_tag_list_to_ansible_dict(stack.get("Tags", [])).get(key)


def _parameter(stack, key):
    value = next((p["ParameterValue"] for p in stack.get("Parameters", []) if p["ParameterKey"] == key), None)
    return None if value is None else value.strip()


def is_cluster_stack(stack):
    """pcluster's test (CfnClient.list_pcluster_stacks): a top-level stack with a version tag, not an image build."""
    return stack.get("ParentId") is None and _tag_value(stack, VERSION_TAG) and _tag_value(stack, IMAGE_ID_TAG) is None


def stack_summary(stack, region):
    """A cluster as pcluster's list_clusters reports it (snake_case), plus its tags and times."""
    return {
        "cluster_name": stack["StackName"],
        "cluster_status": cluster_status(stack["StackStatus"]),
        "cloudformation_stack_status": stack["StackStatus"],
        "cloudformation_stack_arn": stack["StackId"],
        "region": region,
        "version": _tag_value(stack, VERSION_TAG),
        "scheduler": {"type": _parameter(stack, "Scheduler")},
        "tags": boto3_tag_list_to_ansible_dict(stack.get("Tags", [])),
        "creation_time": iso_time(stack.get("CreationTime")),
        "last_updated_time": iso_time(stack.get("LastUpdatedTime") or stack.get("CreationTime")),
    }


def summary_matches(summary, statuses, tags):
    """The info module's filters: any of the cluster statuses (if given) and all of the tag values."""
    return (not statuses or summary["cluster_status"] in statuses) and tags_match(summary["tags"], tags)


def head_node_of(reservations):
    """pcluster's EC2Instance fields (snake_case) of the first instance found, or None."""
    instance = next(itertools.chain.from_iterable(r["Instances"] for r in reservations), None)
    if instance is None:
        return None
    return {
        "instance_id": instance["InstanceId"],
        "instance_type": instance.get("InstanceType"),
        "launch_time": iso_time(instance.get("LaunchTime")),
        "private_ip_address": instance.get("PrivateIpAddress"),
        "public_ip_address": instance.get("PublicIpAddress"),
        "state": instance.get("State", {}).get("Name"),
    }


def failed_events_of(events, limit=FAILED_EVENT_LIMIT):
    """The newest stack events that failed (CREATE_FAILED, UPDATE_FAILED, DELETE_FAILED), newest first."""
    failed = [e for e in events if e.get("ResourceStatus", "").endswith("_FAILED")]
    return [{
        "timestamp": iso_time(e.get("Timestamp")),
        "logical_resource_id": e.get("LogicalResourceId"),
        "resource_type": e.get("ResourceType"),
        "resource_status": e.get("ResourceStatus"),
        "resource_status_reason": e.get("ResourceStatusReason"),
    } for e in failed[:limit]]


class ClusterReader:
    """Read-only views of clusters in one region, through the module's clients (``aws.client``: one retry layer)."""

    def __init__(self, module, region):
        self.module = module
        self.region = region

    def client(self, service):
        return aws.client(self.module, service)  # made once per module and service

    def stack(self, name):
        """The cluster's CloudFormation stack, or None when there is none (a deleted stack is gone by name)."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=name, aws_retry=True)["Stacks"]
        except is_boto3_error_code("ValidationError") as error:
            if "does not exist" in str(error):
                return None
            raise
        return stacks[0] if stacks else None

    def cluster_stacks(self):
        """Every cluster stack of the region, all pages of DescribeStacks."""
        return [s for s in aws.paginate(self.client("cloudformation"), "describe_stacks")["Stacks"] if is_cluster_stack(s)]

    def list_clusters(self, statuses=None, tags=None):
        summaries = [stack_summary(stack, self.region) for stack in self.cluster_stacks()]
        return [s for s in summaries if summary_matches(s, statuses, tags or {})]

    def fleet_status(self, name):
        """The compute fleet status the head node keeps in DynamoDB; UNKNOWN when it cannot be read (as pcluster)."""
        try:
            item = self.client("dynamodb").get_item(TableName=FLEET_TABLE_PREFIX + name, Key={"Id": {"S": "COMPUTE_FLEET"}},
                                                    ConsistentRead=True, aws_retry=True).get("Item")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            return "UNKNOWN"
        status = (item or {}).get("Data", {}).get("M", {}).get("status", {}).get("S")
        return status or "UNKNOWN"

    def head_node(self, name):
        filters = [{"Name": f"tag:{CLUSTER_NAME_TAG}", "Values": [name]},
                   {"Name": "instance-state-name", "Values": HEAD_NODE_STATES},
                   {"Name": f"tag:{NODE_TYPE_TAG}", "Values": ["HeadNode"]}]
        reservations = self.client("ec2").describe_instances(Filters=filters, aws_retry=True)["Reservations"]
        return head_node_of(reservations)

    def config_url(self, stack):
        """A presigned URL of the configuration pcluster stored (signed locally: no request), as pcluster's describe."""
        bucket, directory = _parameter(stack, "ResourcesS3Bucket"), _parameter(stack, "ArtifactS3RootDirectory")
        if not bucket or not directory:
            return "NOT_AVAILABLE"
        params = {"Bucket": bucket, "Key": f"{directory}/configs/{CONFIG_FILE_NAME}"}
        version = _parameter(stack, "ConfigVersion")
        if version:
            params["VersionId"] = version
        return self.client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=3600)

    def stored_config(self, stack):
        """The configuration pcluster stored for the cluster (its artifact bucket, the version the stack names), as a
        dict; None when it cannot be read (pcluster then compares for itself)."""
        bucket, directory = _parameter(stack, "ResourcesS3Bucket"), _parameter(stack, "ArtifactS3RootDirectory")
        if not bucket or not directory:
            return None
        params = {"Bucket": bucket, "Key": f"{directory}/configs/{CONFIG_FILE_NAME}"}
        version = _parameter(stack, "ConfigVersion")
        if version:
            params["VersionId"] = version
        import yaml  # pylint: disable=import-outside-toplevel  # only an update reads it; describe and list do not

        try:
            body = self.client("s3").get_object(aws_retry=True, **params)["Body"].read()
            return yaml.safe_load(body)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, yaml.YAMLError):
            return None

    def failed_events(self, name):
        try:
            events = aws.paginate(self.client("cloudformation"), "describe_stack_events", StackName=name,
                                  PaginationConfig={"MaxItems": EVENT_READ_LIMIT})["StackEvents"]
        except is_boto3_error_code("ValidationError"):
            return []  # the stack went away meanwhile
        return failed_events_of(events)

    def describe(self, name, stack=None):
        """pcluster's describe_cluster (snake_case, tags as a dict) plus the stack's outputs.

        None when there is no such cluster (no stack, or a stack that pcluster did not make).
        """
        stack = stack or self.stack(name)
        if stack is None or not is_cluster_stack(stack):
            return None
        described = stack_summary(stack, self.region)
        described.update(
            compute_fleet_status=self.fleet_status(name) if stack["StackStatus"] in FLEET_READABLE_STACK_STATUSES else "UNKNOWN",
            cluster_configuration={"url": self.config_url(stack)},
            outputs={o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])},
        )
        head_node = self.head_node(name)
        if head_node:
            described["head_node"] = head_node
        if described["cluster_status"] == "CREATE_FAILED":
            described["failures"] = [creation_failure(stack)]
        return described


def creation_failure(stack):
    """pcluster's failure code and reason for a failed create (it matches the failed wait condition's reason).

    The mapping lives in pcluster (ClusterStack.get_cluster_creation_failure); import the small stack model
    rather than copy its table. Only failed clusters pay for this import (~0.2 s).
    """
    try:
        from pcluster.models.cluster_resources import ClusterStack  # pylint: disable=import-error
    except ImportError:
        return dict(GENERAL_CREATION_FAILURE)
    code, reason = ClusterStack(stack).get_cluster_creation_failure()
    return {"failure_code": code, "failure_reason": reason}
