#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: reference_info
version_added: 0.1.0
short_description: Check that the AWS resources a request names exist, before anything is written
description:
  - Reads, and never writes, the EC2 key pairs, Secrets Manager secrets, FSx file systems and EFS file systems that
    a request refers to, and says which of them are missing.
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
notes:
  - A secret scheduled for deletion counts as missing.
  - "IAM: C(ec2:DescribeKeyPairs), C(secretsmanager:DescribeSecret), C(fsx:DescribeFileSystems),
    C(elasticfilesystem:DescribeFileSystems)."
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
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing boto3/botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws

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
        ),
        supports_check_mode=True,
    )
    params = module.params
    missing = []
    try:
        key_pairs = find_key_pairs(aws.client(module, "ec2"), params["key_pairs"])
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
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Failed to look up the resources the request names")
    module.exit_json(changed=False, missing=missing, key_pairs=[
        {"key_name": k["KeyName"], "key_pair_id": k.get("KeyPairId"), "tags": boto3_tag_list_to_ansible_dict(k.get("Tags", []))}
        for k in key_pairs.values()])


if __name__ == "__main__":
    main()
