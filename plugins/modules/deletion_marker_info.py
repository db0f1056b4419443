#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: deletion_marker_info
version_added: 0.1.0
short_description: Whether a delete of a cluster runs, and the cluster's subnet claim
description:
  - Reads the cluster's deletion mark (see M(obi.hpc_provisioner.deletion_marker)) and its subnet claim in the claim
    table.
  - The create playbook reads both right after its cluster step. A mark, or a claim that is gone, means that a delete
    ran at the same time; with O(wait) it waits for that delete to end, polling with backoff (0.25 s for a second, then growing by half up to 15 s),
    before it removes what it made.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  wait:
    description: Wait until no live mark is left (the delete ended, or its mark expired).
    type: bool
    default: false
  wait_timeout:
    description: The longest wait, in seconds.
    type: int
    default: 3600
extends_documentation_fragment:
  - obi.hpc_provisioner.claim_table
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Did a delete run while the cluster was being created?
  obi.hpc_provisioner.deletion_marker_info:
    table: obi-hpc-subnet-claims
    cluster: pcluster-vlab1-project1
  register: deletion
  # deletion.marker is null and deletion.claim set: no delete ran
"""

RETURN = r"""
marker:
  description: The deletion mark (C(cluster), C(started_at), C(expires_at) in epoch seconds, C(live)), or null;
    after O(wait), as it was when the wait ended.
  returned: always
  type: dict
claim:
  description: The cluster's claim (C(subnet_id), C(availability_zone), C(claimed_at), ...), or null.
  returned: always
  type: dict
waited_seconds:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout

LONGEST_PAUSE = 15


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            **sc.CLAIM_TABLE_OPTIONS,
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    dynamodb = sc.claim_table_client(module)
    deadline = Deadline(max(params["wait_timeout"], 0))
    try:
        def read():
            return sc.marker(dynamodb, params["table"], params["cluster"])

        found = read()
        if params["wait"]:
            try:
                found = deadline.until(read, lambda mark: not (mark and mark["live"]), "the delete's end", LONGEST_PAUSE,
                                       current=found, status_of=lambda mark: "marked" if mark else "none")
            except WaitTimeout as timeout:
                module.fail_json(msg=f"cluster {params['cluster']}: a delete still runs after {params['wait_timeout']} s",
                                 marker=timeout.last, claim=None, waited_seconds=round(deadline.waited, 1))
        held = sc.claims_of(dynamodb, params["table"], params["cluster"])
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg=f"could not read the deletion mark of {params['cluster']} in {params['table']}")
    module.exit_json(changed=False, marker=found, claim=held[0] if held else None, waited_seconds=round(deadline.waited, 1))


if __name__ == "__main__":
    main()
