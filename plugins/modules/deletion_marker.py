#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: deletion_marker
version_added: 0.1.0
short_description: Mark a cluster as being deleted, in the subnet claim table
description:
  - The delete playbook marks its cluster first (O(state=present)) and removes the mark when it ends
    (O(state=absent)), whether it succeeded or failed.
  - While the mark is there, M(obi.hpc_provisioner.subnet_claim) refuses to claim a subnet for the cluster, and a create
    that started before the delete finds the mark with M(obi.hpc_provisioner.deletion_marker_info) after its cluster
    step; it then waits for the delete to end and removes what it made. A create racing a delete therefore leaves the
    whole cluster or nothing.
  - The mark is the item C(subnet_id=deleting#<cluster>) of the claim table; it is no claim.
  - A mark counts for O(expires_in) seconds, so that a delete that was cut short (killed) stops blocking creates then, and is
    reported as interrupted until a delete runs again.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  state:
    description: V(present) marks the cluster as being deleted (again, with a new start); V(absent) removes the mark.
    type: str
    choices: [present, absent]
    default: present
  expires_in:
    description: With O(state=present), seconds for which the mark counts as a delete in progress (the delete's
      longest run).
    type: int
    default: 4200
  attributes:
    description: More string attributes stored on the mark (for example C(vlab_id), C(project_id)).
    type: dict
    default: {}
extends_documentation_fragment:
  - obi.hpc_provisioner.claim_table
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Mark the cluster as being deleted (first write of a delete)
  obi.hpc_provisioner.deletion_marker:
    table: obi-hpc-subnet-claims
    cluster: pcluster-vlab1-project1
    expires_in: 4200

- name: The delete has ended
  obi.hpc_provisioner.deletion_marker:
    table: obi-hpc-subnet-claims
    cluster: pcluster-vlab1-project1
    state: absent
"""

RETURN = r"""
marker:
  description: The mark before this run (C(cluster), C(started_at), C(expires_at) in epoch seconds, C(live)), or null.
  returned: always
  type: dict
"""

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            **sc.CLAIM_TABLE_OPTIONS,
            state=dict(type="str", choices=["present", "absent"], default="present"),
            expires_in=dict(type="int", default=4200),
            attributes=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["expires_in"] < 1:
        module.fail_json(msg=f"expires_in: {params['expires_in']} is not valid: a whole number of seconds, at least 1")
    dynamodb = sc.claim_table_client(module)
    try:
        found = sc.marker(dynamodb, params["table"], params["cluster"])
        # A delete run again renews its mark: always a write, so that the mark says when the current delete began.
        changed = params["state"] == "present" or found is not None
        if changed and not module.check_mode:
            if params["state"] == "present":
                sc.put_marker(dynamodb, params["table"], params["cluster"], params["expires_in"], params["attributes"])
            else:
                sc.delete_marker(dynamodb, params["table"], params["cluster"])
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg=f"could not update the deletion mark of {params['cluster']} in {params['table']}")
    module.exit_json(changed=changed, marker=found)


if __name__ == "__main__":
    main()
