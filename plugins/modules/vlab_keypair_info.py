#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: vlab_keypair_info
version_added: 0.1.0
short_description: The key pairs of a vlab or project and where their private keys are kept
description:
  - Lists EC2 key pairs by exact name or by tags (for example a vlab's and a project's cost tags), each with a
    reference to the secret or SSM parameter that holds its private key, and the secrets whose key pair is gone.
  - Made for the delete flow (what to pass to M(obi.hpc_provisioner.vlab_keypair) with O(obi.hpc_provisioner.vlab_keypair#module:state=absent))
    and for audits. Never reads a private key.
  - A key pair's secret is the one named by its tags C(obi:hpc_provisioner:secret_store) and
    C(obi:hpc_provisioner:secret_name), which M(obi.hpc_provisioner.vlab_keypair) sets; a key pair without them
    (made by the old provisioner) is looked up in Secrets Manager under its own name.
  - All matches are exact; EC2's wildcard filters and Secrets Manager's prefix filters are narrowed down to exact
    matches.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  names:
    description:
      - Names of the key pairs to return. Names that do not exist are left out.
    type: list
    elements: str
  tags:
    description:
      - Return the key pairs, and the secrets without key pair, that carry all these tags with these values.
      - When neither O(names) nor O(tags) is set, all key pairs made by M(obi.hpc_provisioner.vlab_keypair) (those with
        the tag C(obi:hpc_provisioner:secret_store)) are returned.
    type: dict
  secret_stores:
    description:
      - Where to look for secrets without key pair (RV(orphan_secrets)). An empty list skips that search.
      - Only secrets with the tag C(obi:hpc_provisioner:key_pair), and all O(tags), are considered; with O(names),
        only those of these key pairs.
    type: list
    elements: str
    choices: [secretsmanager, ssm]
    default: [secretsmanager, ssm]
notes:
  - Secrets scheduled for deletion are included, with RV(key_pairs[].secret.deleted_date) set.
  - "IAM: C(ec2:DescribeKeyPairs); C(secretsmanager:DescribeSecret), C(secretsmanager:ListSecrets);
    C(ssm:DescribeParameters), C(ssm:GetParameter), C(ssm:ListTagsForResource)."
seealso:
  - module: obi.hpc_provisioner.vlab_keypair
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Key pairs of a project, for the delete flow
  obi.hpc_provisioner.vlab_keypair_info:
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
  register: project_keys

- name: Delete each key pair with its secret
  obi.hpc_provisioner.vlab_keypair:
    name: "{{ item.key_name }}"
    secret_store: "{{ item.secret.store }}"
    secret_name: "{{ item.secret.name }}"
    state: absent
  loop: "{{ project_keys.key_pairs }}"
  loop_control:
    label: "{{ item.key_name }}"

- name: Delete each secret whose key pair is gone
  obi.hpc_provisioner.vlab_keypair:
    name: "{{ item.key_name }}"
    secret_store: "{{ item.store }}"
    secret_name: "{{ item.name }}"
    state: absent
  loop: "{{ project_keys.orphan_secrets }}"
  loop_control:
    label: "{{ item.name }}"

- name: Two key pairs by exact name (pcluster-v-p does not match pcluster-v-p_sim)
  obi.hpc_provisioner.vlab_keypair_info:
    names:
      - pcluster-v-p
      - pcluster-v-p_sim
"""

RETURN = r"""
key_pairs:
  description: The key pairs found, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    key_name:
      description: Name of the key pair.
      returned: always
      type: str
      sample: pcluster-vlab1-project1_sim
    key_pair_id:
      description: Id of the key pair.
      returned: always
      type: str
      sample: key-0123456789abcdef0
    key_type:
      description: Type of the key pair.
      returned: always
      type: str
      sample: ed25519
    public_key:
      description: Public key in OpenSSH format.
      returned: always
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN8Y3uN2EoeSU6pPTNbiGzA3CoSSayiUlIzUOjfX8jMu
    key_fingerprint:
      description: Fingerprint of the key as EC2 computes it.
      returned: always
      type: str
      sample: 2X5xVq0C3jIvOW5Bs8P9XwHNKfBf5b9Q1sHq8b3yQ3s=
    create_time:
      description: When the key pair was created or imported.
      returned: always
      type: str
      sample: "2025-01-01T10:00:00+00:00"
    tags:
      description: Tags of the key pair.
      returned: always
      type: dict
      sample:
        "obp:costcenter:vlabid": vlab1
        "obi:hpc_provisioner:secret_store": secretsmanager
        "obi:hpc_provisioner:secret_name": pcluster-vlab1-project1_sim
    secret:
      description: Where the private key is kept; never its value.
      returned: always
      type: dict
      contains:
        store:
          description: V(secretsmanager) or V(ssm).
          returned: always
          type: str
          sample: secretsmanager
        name:
          description: Name of the secret or SSM parameter.
          returned: always
          type: str
          sample: pcluster-vlab1-project1_sim
        exists:
          description: Whether that secret or parameter exists (V(false) is the half state "key pair without secret").
          returned: always
          type: bool
          sample: true
        arn:
          description: ARN of the secret or parameter.
          returned: when RV(key_pairs[].secret.exists)
          type: str
          sample: arn:aws:secretsmanager:us-east-1:123456789012:secret:pcluster-vlab1-project1_sim-AbCdEf
        description:
          description: Description of the secret or parameter.
          returned: when RV(key_pairs[].secret.exists)
          type: str
          sample: SSH private key of EC2 key pair pcluster-vlab1-project1_sim
        kms_key_id:
          description: KMS key of the secret or parameter, when AWS reports one.
          returned: when RV(key_pairs[].secret.exists)
          type: str
          sample: alias/aws/ssm
        deleted_date:
          description: When Secrets Manager deletes the secret, if it is scheduled for deletion; else V(null).
          returned: when RV(key_pairs[].secret.exists)
          type: str
          sample: null
        tags:
          description: Tags of the secret or parameter.
          returned: when RV(key_pairs[].secret.exists)
          type: dict
          sample:
            "obi:hpc_provisioner:key_pair": pcluster-vlab1-project1_sim
orphan_secrets:
  description:
    - Secrets and parameters (in O(secret_stores)) whose key pair, named by their tag C(obi:hpc_provisioner:key_pair),
      does not exist; the half state that M(obi.hpc_provisioner.vlab_keypair) repairs with
      O(obi.hpc_provisioner.vlab_keypair#module:state=present) or removes with
      O(obi.hpc_provisioner.vlab_keypair#module:state=absent).
  returned: always
  type: list
  elements: dict
  contains:
    key_name:
      description: Name of the missing key pair.
      returned: always
      type: str
      sample: pcluster-vlab1-project1
    store:
      description: V(secretsmanager) or V(ssm).
      returned: always
      type: str
      sample: ssm
    name:
      description: Name of the secret or parameter.
      returned: always
      type: str
      sample: /obi/hpc_provisioner/keypairs/pcluster-vlab1-project1
    arn:
      description: ARN of the secret or parameter.
      returned: always
      type: str
      sample: arn:aws:ssm:us-east-1:123456789012:parameter/obi/hpc_provisioner/keypairs/pcluster-vlab1-project1
    description:
      description: Description of the secret or parameter.
      returned: always
      type: str
      sample: SSH private key of EC2 key pair pcluster-vlab1-project1
    kms_key_id:
      description: KMS key of the secret or parameter, when AWS reports one.
      returned: always
      type: str
      sample: alias/aws/ssm
    deleted_date:
      description: When Secrets Manager deletes the secret, if it is scheduled for deletion; else V(null).
      returned: always
      type: str
      sample: null
    tags:
      description: Tags of the secret or parameter.
      returned: always
      type: dict
      sample:
        "obi:hpc_provisioner:key_pair": pcluster-vlab1-project1
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api as api


def main():
    argument_spec = dict(
        names=dict(type="list", elements="str"),
        tags=dict(type="dict"),
        secret_stores=dict(type="list", elements="str", choices=list(kp.SECRET_STORES),
                           default=list(kp.SECRET_STORES), no_log=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    errors = kp.info_params_errors(module.params)
    if errors:
        module.fail_json(msg="Invalid parameters: " + "; ".join(errors), errors=errors)
    names, tags = module.params["names"], module.params["tags"]

    inventory = api.KeypairInventory(module)
    try:
        key_pairs = inventory.key_pairs_with_secrets(names, tags)
        orphans = inventory.orphan_secrets(module.params["secret_stores"], names, tags,
                                           {key_pair["key_name"] for key_pair in key_pairs})
    except api.KeypairAWSError as error:
        module.fail_json_aws(error.exception, msg=error.message)
    module.exit_json(changed=False, key_pairs=key_pairs, orphan_secrets=orphans)


if __name__ == "__main__":
    main()
