#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: reference_info
version_added: 0.1.0
short_description: Read what a create needs from AWS, and check that what a request names exists, before any write
description:
  - Reads, and never writes, the EC2 key pairs, Secrets Manager secrets, FSx file systems and EFS file systems that
    a request refers to, and says which of them are missing.
  - In the same run, reads the landing zone (security groups and images found by filters) and the clusters to
    describe, so that a create makes all its reads in one module process (one start of Python, one import of boto3).
  - The create playbook runs it before its first write, so that a request naming a key pair, a secret or a file
    system that does not exist is refused with nothing made (instead of by ParallelCluster, after the key pairs,
    the claim and the node assets were made).
  - Key pairs are returned with their tags, so that the caller can also tell a key pair of its own from one that
    carries another project's tags.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  key_pairs:
    description: Names of EC2 key pairs to look up (exact names).
    type: list
    elements: str
    default: []
  secrets:
    description: ARNs or names of Secrets Manager secrets to look up (C(DescribeSecret); the value is never read).
    type: list
    elements: str
    default: []
  fsx_file_systems:
    description: Ids of FSx file systems to look up.
    type: list
    elements: str
    default: []
  efs_file_systems:
    description: Ids of EFS file systems to look up.
    type: list
    elements: str
    default: []
  security_group_filters:
    description:
      - EC2 filters of the security groups to read, by filter name (as C(DescribeSecurityGroups) takes them, for
        example C(tag:landing-zone) with the value C(hpc)); returned as RV(security_groups). Not read when omitted.
    type: dict
  image_filters:
    description:
      - EC2 filters of the images of this account to read (C(DescribeImages), owner C(self)); returned as RV(images).
        Not read when omitted.
    type: dict
  clusters:
    description:
      - Names of ParallelCluster clusters to describe, as M(obi.hpc_provisioner.pcluster_cluster_info) does; returned
        as RV(clusters), those that exist.
    type: list
    elements: str
    default: []
notes:
  - A secret scheduled for deletion counts as missing.
  - "IAM: C(ec2:DescribeKeyPairs), C(secretsmanager:DescribeSecret), C(fsx:DescribeFileSystems),
    C(elasticfilesystem:DescribeFileSystems); with O(security_group_filters) C(ec2:DescribeSecurityGroups), with
    O(image_filters) C(ec2:DescribeImages), with O(clusters) what M(obi.hpc_provisioner.pcluster_cluster_info) needs."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: What the request names, before any write
  obi.hpc_provisioner.reference_info:
    key_pairs: [my-admin-key]
    secrets: ["{{ hpc_database_password_secret_arn }}"]
    efs_file_systems: ["{{ hpc_home_efs_id }}"]
  register: references

- name: The landing zone and the cluster too, in the same module run
  obi.hpc_provisioner.reference_info:
    efs_file_systems: ["{{ hpc_home_efs_id }}"]
    security_group_filters: {"tag:landing-zone": hpc}
    image_filters: {"tag:parallelcluster:build_status": available}
    clusters: [pcluster-vlab1-project1]
  register: found

- name: Refuse a request that names something missing
  ansible.builtin.assert:
    that: references.missing | length == 0
    fail_msg: "{{ references.missing }}"
"""

RETURN = r"""
missing:
  description: What was looked up and does not exist, in the order of the options.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: C(key_pair), C(secret), C(fsx_file_system) or C(efs_file_system).
      type: str
    id:
      description: The name or id looked up.
      type: str
  sample: [{"kind": "key_pair", "id": "my-admin-key"}]
key_pairs:
  description: The key pairs found, with their tags.
  returned: always
  type: list
  elements: dict
  contains:
    key_name:
      description: The key pair's name.
      type: str
    key_pair_id:
      description: The key pair's id.
      type: str
    tags:
      description: Its tags, as a dict.
      type: dict
security_groups:
  description: The security groups that match O(security_group_filters), sorted by id.
  returned: when O(security_group_filters) is given
  type: list
  elements: dict
  contains:
    group_id:
      description: The group's id.
      type: str
    group_name:
      description: The group's name.
      type: str
    vpc_id:
      description: Its VPC.
      type: str
    tags:
      description: Its tags, as a dict.
      type: dict
images:
  description: The images of this account that match O(image_filters), oldest first.
  returned: when O(image_filters) is given
  type: list
  elements: dict
  contains:
    image_id:
      description: The image's id.
      type: str
    name:
      description: Its name.
      type: str
    creation_date:
      description: When it was made (ISO 8601).
      type: str
    tags:
      description: Its tags, as a dict.
      type: dict
clusters:
  description:
    - The clusters of O(clusters) that exist, each as M(obi.hpc_provisioner.pcluster_cluster_info) describes it
      (its RV(obi.hpc_provisioner.pcluster_cluster_info#module:clusters)).
  returned: always
  type: list
  elements: dict
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing boto3/botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import apply_aws_environment
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import ClusterReader

NOT_FOUND = {
    "key_pair": "InvalidKeyPair.NotFound",
    "secret": "ResourceNotFoundException",
    "fsx_file_system": "FileSystemNotFound",
    "efs_file_system": "FileSystemNotFound",
}


def find_key_pairs(ec2, names):
    """{name: key pair} for the names that exist; one call (a filter by name does not fail on missing names)."""
    if not names:
        return {}
    found = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": list(names)}], aws_retry=True)["KeyPairs"]
    return {k["KeyName"]: k for k in found if k["KeyName"] in names}


def read_security_groups(ec2, filters):
    found = aws.paginate(ec2, "describe_security_groups",
                         Filters=ansible_dict_to_boto3_filter_list(filters))["SecurityGroups"]
    return sorted(({"group_id": g["GroupId"], "group_name": g["GroupName"], "vpc_id": g.get("VpcId"),
                    "tags": boto3_tag_list_to_ansible_dict(g.get("Tags", []))} for g in found),
                  key=lambda group: group["group_id"])


def read_images(ec2, filters):
    found = ec2.describe_images(Owners=["self"], Filters=ansible_dict_to_boto3_filter_list(filters),
                                aws_retry=True)["Images"]
    return sorted(({"image_id": i["ImageId"], "name": i.get("Name"), "creation_date": i.get("CreationDate"),
                    "tags": boto3_tag_list_to_ansible_dict(i.get("Tags", []))} for i in found),
                  key=lambda image: (image["creation_date"] or "", image["image_id"]))


def exists(kind, call, **kwargs):
    try:
        answer = call(aws_retry=True, **kwargs)
    except is_boto3_error_code(NOT_FOUND[kind]):
        return False
    except is_boto3_error_code("ValidationException"):  # a malformed id is as missing as an unknown one
        return False
    return not answer.get("DeletedDate")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            key_pairs=dict(type="list", elements="str", default=[], no_log=False),
            secrets=dict(type="list", elements="str", default=[], no_log=False),
            fsx_file_systems=dict(type="list", elements="str", default=[]),
            efs_file_systems=dict(type="list", elements="str", default=[]),
            security_group_filters=dict(type="dict"),
            image_filters=dict(type="dict"),
            clusters=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    bad_names = [error for error in map(cluster_name_error, params["clusters"]) if error]
    if bad_names:
        module.fail_json(msg="clusters: " + "; ".join(bad_names))
    missing, zone = [], {}
    try:
        ec2 = aws.client(module, "ec2")
        if params["security_group_filters"] is not None:
            zone["security_groups"] = read_security_groups(ec2, params["security_group_filters"])
        if params["image_filters"] is not None:
            zone["images"] = read_images(ec2, params["image_filters"])
        key_pairs = find_key_pairs(ec2, params["key_pairs"])
        missing += [{"kind": "key_pair", "id": name} for name in params["key_pairs"] if name not in key_pairs]
        lookups = (
            ("secret", "secretsmanager", "describe_secret", "SecretId", params["secrets"]),
            ("fsx_file_system", "fsx", "describe_file_systems", "FileSystemIds", params["fsx_file_systems"]),
            ("efs_file_system", "efs", "describe_file_systems", "FileSystemId", params["efs_file_systems"]),
        )
        for kind, service, operation, argument, ids in lookups:
            if not ids:
                continue
            call = getattr(aws.client(module, service), operation)
            for resource_id in ids:
                value = [resource_id] if argument == "FileSystemIds" else resource_id
                if not exists(kind, call, **{argument: value}):
                    missing.append({"kind": kind, "id": resource_id})
        clusters = []
        if params["clusters"]:
            reader = ClusterReader(module, apply_aws_environment(module))
            clusters = [described for described in map(reader.describe, params["clusters"]) if described]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Failed to look up the resources the request names")
    module.exit_json(changed=False, missing=missing, clusters=clusters, **zone, key_pairs=[
        {"key_name": k["KeyName"], "key_pair_id": k.get("KeyPairId"), "tags": boto3_tag_list_to_ansible_dict(k.get("Tags", []))}
        for k in key_pairs.values()])


if __name__ == "__main__":
    main()
