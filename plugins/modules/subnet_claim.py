#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: subnet_claim
version_added: 0.1.0
short_description: Claim a compute subnet for a cluster, atomically, in a DynamoDB table
description:
  - Claims one compute subnet for a cluster in a DynamoDB table (hash key C(subnet_id), attribute C(cluster)) with
    a conditional write, so that two concurrent runs can never hold one subnet.
  - The same cluster reuses its claim. Two concurrent runs for one cluster converge on one claim (the lowest
    subnet id; the other claim is deleted conditionally).
  - Candidates are the subnets found by O(subnet_filters) (by default the tag C(HPC_Goal=compute_cluster)) in an
    availability zone that offers every one of O(instance_types) (C(DescribeInstanceTypeOfferings)) and, with
    O(require_unused), wholly unused.
  - O(state=absent) releases the cluster's claims; with O(require_cluster_gone) it refuses while the cluster's
    CloudFormation stack still exists, so that a subnet is never released before its cluster is gone.
  - O(state=present) refuses a cluster that M(obi.hpc_provisioner.deletion_marker) marks as being deleted (RV(being_deleted)),
    so that a create racing a delete claims nothing.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  state:
    description: V(present) claims (or finds the claim); V(absent) releases.
    type: str
    choices: [present, absent]
    default: present
  instance_types:
    description: Instance types the subnet's availability zone must offer (the tier's and the head node's).
    type: list
    elements: str
    default: []
  subnet_filters:
    description: EC2 DescribeSubnets filters that select the candidate subnets.
    type: dict
    default: {"tag:HPC_Goal": "compute_cluster"}
  subnet_ids:
    description: Restrict the candidates to these subnets (the filters still apply).
    type: list
    elements: str
  vpc_id:
    description: Restrict the candidates to this VPC.
    type: str
  require_unused:
    description: Claim only subnets with no address in use (the cluster's own claim is always kept).
    type: bool
    default: true
  attributes:
    description: More string attributes stored on a new claim (for example C(vlab_id), C(project_id)).
    type: dict
    default: {}
  require_cluster_gone:
    description: With O(state=absent), fail while a CloudFormation stack named O(cluster) exists (not DELETE_COMPLETE).
    type: bool
    default: true
extends_documentation_fragment:
  - obi.hpc_provisioner.claim_table
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Claim a subnet whose zone offers the tier's instance types
  obi.hpc_provisioner.subnet_claim:
    table: obi-hpc-subnet-claims
    cluster: pcluster-vlab1-project1
    instance_types: [t3.medium, c7a.48xlarge]
    attributes:
      vlab_id: vlab1
      project_id: project1
  register: claim   # claim.subnet_id, claim.availability_zone

- name: Release it once the cluster is gone
  obi.hpc_provisioner.subnet_claim:
    table: obi-hpc-subnet-claims
    cluster: pcluster-vlab1-project1
    state: absent
"""

RETURN = r"""
subnet_id:
  description: The claimed subnet (O(state=present)).
  returned: when state is present
  type: str
  sample: subnet-0123456789abcdef0
availability_zone:
  description: The claimed subnet's availability zone.
  returned: when state is present
  type: str
  sample: us-east-1a
reused:
  description: Whether the cluster already held this claim.
  returned: when state is present
  type: bool
claim:
  description: The claim item (C(subnet_id), C(cluster), C(availability_zone), C(claimed_at) and O(attributes)).
  returned: when state is present and not in check mode with a new claim
  type: dict
released:
  description: Subnet ids whose claims this run deleted (duplicates of a concurrent run, or all with O(state=absent)).
  returned: always
  type: list
  elements: str
being_deleted:
  description: Set when O(state=present) was refused because a delete of the cluster runs or was cut short.
  returned: on that failure
  type: bool
deletion_marker:
  description: The deletion mark that refused the claim (C(cluster), C(started_at), C(expires_at), C(live)).
  returned: on that failure
  type: dict
"""

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import ClusterReader

GONE = ("DELETE_COMPLETE",)


def main():
    argument_spec = dict(
        **sc.CLAIM_TABLE_OPTIONS,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        instance_types=dict(type="list", elements="str", default=[]),
        subnet_filters=dict(type="dict", default=dict(sc.DEFAULT_SUBNET_FILTERS)),
        subnet_ids=dict(type="list", elements="str"),
        vpc_id=dict(type="str"),
        require_unused=dict(type="bool", default=True),
        attributes=dict(type="dict", default={}),
        require_cluster_gone=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    dynamodb = sc.claim_table_client(module)
    ec2 = aws.client(module, "ec2")
    try:
        if params["state"] == "absent":
            if params["require_cluster_gone"]:
                stack = ClusterReader(module, module.region).stack(params["cluster"])
                status = stack["StackStatus"] if stack else None
                if status and status not in GONE:
                    module.fail_json(msg=f"cluster {params['cluster']} still exists ({status}): its subnet is released "
                                         "only after the cluster is gone", cluster_status=status, released=[])
            released = sc.release(dynamodb, params["table"], params["cluster"], check_mode=module.check_mode)
            module.exit_json(changed=bool(released), released=released)
        result = sc.claim(dynamodb, ec2, params["table"], params["cluster"], params["instance_types"],
                          params["subnet_filters"], params["subnet_ids"], params["vpc_id"], params["require_unused"],
                          params["attributes"], check_mode=module.check_mode)
    except sc.BeingDeleted as error:
        module.fail_json(msg=str(error), released=[], being_deleted=True, deletion_marker=error.marker)
    except sc.ClaimError as error:
        module.fail_json(msg=str(error), released=[])
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg=f"could not {'release' if params['state'] == 'absent' else 'claim'} a subnet "
                                        f"for {params['cluster']} in {params['table']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
