#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: vlab_keypair
version_added: 0.1.0
short_description: One SSH key pair per deployment, its private key kept in Secrets Manager or SSM
description:
  - Creates an EC2 key pair (ED25519 by default) with C(CreateKeyPair) and stores its private key, tagged, in
    AWS Secrets Manager (default) or as an SSM Parameter Store C(SecureString); or deletes both.
  - The private key never leaves AWS through this module unless O(return_private_key=true), which is dangerous.
  - Lookups are exact (by key pair name, secret name and parameter name), never by prefix, so
    C(pcluster-v-p) and C(pcluster-v-p_sim) are two different identities.
  - The two halves point at each other through tags, which M(obi.hpc_provisioner.vlab_keypair_info) reads
    (see O(tags)).
  - "Half states left by an interrupted run, with O(state=present):
    a secret without its key pair is repaired by importing the public key derived from the stored private key
    (C(ImportKeyPair)), so that the stored key keeps working;
    a secret scheduled for deletion (Secrets Manager) is restored (C(RestoreSecret)) and then used as if it had
    never been deleted;
    a key pair whose private key was never stored cannot be repaired (EC2 hands out a private key only when it
    creates the pair): the module fails naming that state and O(recreate), unless O(recreate=true)."
  - Other states that need O(recreate=true), the module fails naming them otherwise. The key pair and the stored
    private key do not belong together; the stored key is of another type than O(key_type); the secret does not
    hold an SSH private key; the SSM parameter is not a C(SecureString).
  - A secret tagged as another key pair's private key (tag C(obi:hpc_provisioner:key_pair)) is never used,
    replaced or deleted; the module fails and asks for another O(secret_name).
  - Every existing key pair and secret is read, and the stored private key checked against the key pair's public
    key, on every run; a run that finds both halves as wanted makes no mutating call.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  name:
    description:
      - Name of the EC2 key pair, for example C(pcluster-<vlab>-<project>) (admin) or C(pcluster-<vlab>-<project>_sim)
        (simulation user).
      - 1 to 255 characters among letters, digits, C(.), C(_) and C(-), starting with a letter or a digit.
      - Exactly one of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several key pairs handled alike in one module run, in this order, each with its own secret of the default
        name (see O(secret_name), which cannot be given with O(names)); the result lists them in RV(key_pairs).
      - One process instead of one per key pair (a module run costs about 0.5 s of Python, imports and AWS clients),
        for a deployment's admin and simulation user key pairs.
      - A failure stops the run at that key pair; the ones before it are done (and a re-run finds them so).
    type: list
    elements: str
  state:
    description:
      - V(present) makes sure that the key pair and its stored private key exist and belong together.
      - V(absent) deletes the key pair and the secret (force delete without recovery window, so that the same name
        can be created again at once) or the SSM parameter. Deleting what is already gone is not a change.
    type: str
    choices: [present, absent]
    default: present
  key_type:
    description:
      - Type of a key pair that the module creates. ED25519 is the design's choice; RSA for hosts that need it.
      - An existing key pair of another type is not replaced unless O(recreate=true).
    type: str
    choices: [ed25519, rsa]
    default: ed25519
  secret_store:
    description:
      - Where the private key is kept. V(secretsmanager) is a Secrets Manager secret whose C(SecretString) is the
        private key (OpenSSH format for ED25519, PEM for RSA), as the old provisioner stored it.
      - V(ssm) is an SSM Parameter Store C(SecureString) parameter whose value is the private key.
    type: str
    choices: [secretsmanager, ssm]
    default: secretsmanager
  secret_name:
    description:
      - Name of the secret or parameter that holds the private key.
      - Defaults to O(name) with O(secret_store=secretsmanager) (as the old provisioner did), and to
        C(/obi/hpc_provisioner/keypairs/<name>) with O(secret_store=ssm).
      - Not with O(names), where each key pair has its default secret name.
      - At most 256 characters, because it is recorded in the key pair's tag C(obi:hpc_provisioner:secret_name).
        Secrets Manager names use letters, digits and C(/_+=.@-); SSM names use letters, digits and C(/_.-),
        start with C(/) when they have a path, and cannot start with C(aws) or C(ssm).
    type: str
  kms_key_id:
    description:
      - KMS key (id, ARN, alias or alias ARN) that encrypts the private key.
      - When not set, a new secret uses the store's AWS managed key and an existing one keeps its key.
    type: str
  description:
    description:
      - Description of the secret or parameter.
      - When not set, a new secret gets C(SSH private key of EC2 key pair <name>) and an existing one keeps its
        description.
    type: str
  recreate:
    description:
      - Allow the module to replace the key pair with a new one (C(DeleteKeyPair), C(CreateKeyPair)) and to store
        the new private key in the secret (a new version; the secret keeps its ARN), when the existing halves
        cannot be kept. See the description for these states.
      - Hosts and clusters that trust the old public key keep trusting it only; give them the new public key.
      - Never replaces halves that belong together. To rotate a key on purpose, run O(state=absent) and then
        O(state=present).
    type: bool
    default: false
  return_private_key:
    description:
      - B(Dangerous.) Return the private key as RV(private_key). Anyone who can read the task output, the
        registered variable, the AWX job events or the logs can then log in wherever the key is trusted.
      - Use it only with C(no_log) set on the task, and only when the private key must be written somewhere that
        cannot read it from the secret itself.
      - When V(false) (the default), the private key is never returned, and the module masks it in anything it
        returns, errors included.
    type: bool
    default: false
  tags:
    description:
      - Tags put on both the key pair and the secret or parameter, for example C(obp:costcenter:vlabid),
        C(obp:costcenter:project) and C(SBO_Billing).
      - Keys of 1 to 128 and values of up to 256 characters among letters, digits, spaces and C(_.:/=+-@);
        keys cannot start with C(aws:), and the module keeps the keys starting with C(obi:hpc_provisioner:) to
        itself.
      - The module always sets the link tags C(obi:hpc_provisioner:secret_store) and
        C(obi:hpc_provisioner:secret_name) on the key pair and C(obi:hpc_provisioner:key_pair) on the secret,
        whatever O(tags) and O(purge_tags) say.
notes:
  - Needs the Python library C(cryptography) (a dependency of ansible-core) on the host that runs the module, to
    derive the public key from a stored private key.
  - Check mode makes no mutating call. It reads the stored private key to tell whether the halves belong together,
    except from a secret scheduled for deletion, which cannot be read before it is restored.
  - Diff mode shows, for both halves, whether they exist, the key pair's id and type, whether the secret is
    scheduled for deletion, and the tags; never key material.
  - "IAM: C(ec2:DescribeKeyPairs), C(ec2:CreateKeyPair), C(ec2:ImportKeyPair), C(ec2:DeleteKeyPair),
    C(ec2:CreateTags), C(ec2:DeleteTags); C(secretsmanager:DescribeSecret), C(GetSecretValue), C(CreateSecret),
    C(PutSecretValue), C(UpdateSecret), C(RestoreSecret), C(DeleteSecret), C(TagResource), C(UntagResource);
    or C(ssm:DescribeParameters), C(GetParameter), C(PutParameter), C(DeleteParameter), C(ListTagsForResource),
    C(AddTagsToResource), C(RemoveTagsFromResource); C(kms:Decrypt) and C(kms:GenerateDataKey) on a customer
    managed O(kms_key_id)."
  - Throttling, AWS's transient server errors and lost connections are retried with jittered backoff.
seealso:
  - module: obi.hpc_provisioner.vlab_keypair_info
  - module: amazon.aws.ec2_key
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Admin key pair of a project's cluster (HeadNode.Ssh.KeyName), private key in Secrets Manager
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}"
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
      SBO_Billing: "hpc:parallelcluster"
  register: admin_key

- name: Simulation user's key pair; its public key goes into the sim user's authorized_keys
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}_sim"
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
      SBO_Billing: "hpc:parallelcluster"
  register: sim_key
# sim_key.key_pair.public_key is "ssh-ed25519 AAAA..."; sim_key.secret.arn is what the Workflow Service reads.

- name: Private key in SSM Parameter Store (/obi/hpc_provisioner/keypairs/<name>) with a customer managed KMS key
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}"
    secret_store: ssm
    kms_key_id: alias/hpc-provisioner

- name: Replace a key pair whose private key was lost in an interrupted run (breaks logins with the old key)
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}"
    recreate: true

- name: A deployment's two key pairs in one module run
  obi.hpc_provisioner.vlab_keypair:
    names:
      - "pcluster-{{ vlab_id }}-{{ project_id }}"
      - "pcluster-{{ vlab_id }}-{{ project_id }}_sim"
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
  register: keys
# keys.key_pairs[1].key_pair.public_key, keys.key_pairs[1].secret.arn

- name: Delete the key pair and its secret (no recovery window, the name can be reused at once)
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}_sim"
    state: absent

- name: DANGEROUS - get the private key itself, never shown thanks to no_log
  obi.hpc_provisioner.vlab_keypair:
    name: "pcluster-{{ vlab_id }}-{{ project_id }}_sim"
    return_private_key: true
  no_log: true
  register: sim_key_with_private_key
"""

RETURN = r"""
extends_documentation_fragment:
  - obi.hpc_provisioner.run
actions:
  description:
    - What the module did (or would do in check mode), in order. Possible items are V(restore_secret),
      V(delete_key_pair), V(delete_secret), V(create_key_pair), V(import_key_pair), V(create_secret),
      V(store_private_key), V(update_key_pair_tags), V(update_secret_tags) and V(update_secret_settings).
    - Empty when nothing changed.
  sample: [create_key_pair, create_secret]
key_pair:
  description:
    - The EC2 key pair. V(null) with O(state=absent).
    - In check mode, a key pair that would be created has only RV(key_pair.key_name), RV(key_pair.key_type) and
      RV(key_pair.tags).
  returned: with O(name)
  type: dict
  contains:
    key_name:
      description: Name of the key pair.
      returned: success
      type: str
      sample: pcluster-vlab1-project1
    key_pair_id:
      description: Id of the key pair.
      returned: success
      type: str
      sample: key-0123456789abcdef0
    key_type:
      description: Type of the key pair.
      returned: success
      type: str
      sample: ed25519
    public_key:
      description: Public key in OpenSSH format (C(authorized_keys) line), as EC2 returns it.
      returned: success
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN8Y3uN2EoeSU6pPTNbiGzA3CoSSayiUlIzUOjfX8jMu
    key_fingerprint:
      description: Fingerprint of the key as EC2 computes it (for ED25519, base64 SHA-256 of the public key).
      returned: success
      type: str
      sample: 2X5xVq0C3jIvOW5Bs8P9XwHNKfBf5b9Q1sHq8b3yQ3s=
    create_time:
      description: When the key pair was created or imported.
      returned: success
      type: str
      sample: "2025-01-01T10:00:00+00:00"
    tags:
      description: Tags of the key pair, the link tags included.
      returned: success
      type: dict
      sample:
        "obp:costcenter:vlabid": vlab1
        "obi:hpc_provisioner:secret_store": secretsmanager
        "obi:hpc_provisioner:secret_name": pcluster-vlab1-project1
secret:
  description:
    - The secret (Secrets Manager) or parameter (SSM) that holds the private key; never its value.
      V(null) with O(state=absent).
  returned: with O(name)
  type: dict
  contains:
    store:
      description: V(secretsmanager) or V(ssm).
      returned: success
      type: str
      sample: secretsmanager
    name:
      description: Name of the secret, or of the SSM parameter.
      returned: success
      type: str
      sample: pcluster-vlab1-project1
    arn:
      description: ARN of the secret or parameter; V(null) in check mode when it would be created.
      returned: success
      type: str
      sample: arn:aws:secretsmanager:us-east-1:123456789012:secret:pcluster-vlab1-project1-AbCdEf
    description:
      description: Description of the secret or parameter.
      returned: success
      type: str
      sample: SSH private key of EC2 key pair pcluster-vlab1-project1
    kms_key_id:
      description: KMS key of the secret or parameter, when AWS reports one.
      returned: success
      type: str
      sample: alias/aws/ssm
    deleted_date:
      description: When Secrets Manager deletes the secret; V(null) unless it is scheduled for deletion (check mode only).
      returned: success
      type: str
      sample: null
    tags:
      description: Tags of the secret or parameter, the link tag included.
      returned: success
      type: dict
      sample:
        "obp:costcenter:vlabid": vlab1
        "obi:hpc_provisioner:key_pair": pcluster-vlab1-project1
key_pairs:
  description:
    - With O(names), one element per key pair, in the order of O(names), each with the keys that one O(name)
      returns (RV(key_pair), RV(secret), RV(private_key) when asked) and its own RV(actions).
    - RV(actions) and C(changed) at the top cover them all; in diff mode, C(diff) is a list with one diff per
      key pair.
  returned: with O(names); on a failure, up to the key pair that failed (its element has only RV(actions))
  type: list
  elements: dict
  sample: [{key_pair: {key_name: pcluster-vlab1-project1}, secret: {store: secretsmanager}, actions: [create_key_pair, create_secret]}]
private_key:
  description: B(Dangerous.) The private key, OpenSSH (ED25519) or PEM (RSA) format.
  returned: when O(return_private_key=true), O(state=present) and the key exists (not for a key pair that check mode would create)
  type: str
  sample: "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----\n"
half_state:
  description:
    - On failure only, the state that the module would not repair without O(recreate=true) or that it refuses
      to touch. One of V(key_pair_without_secret), V(key_mismatch), V(key_type_mismatch), V(unreadable_secret),
      V(insecure_parameter), V(foreign_secret).
  returned: failure
  type: str
  sample: key_pair_without_secret
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api as api
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair_run import KeypairRun


def argument_spec():
    return dict(
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        key_type=dict(type="str", choices=list(kp.KEY_TYPES), default="ed25519", no_log=False),
        secret_store=dict(type="str", choices=list(kp.SECRET_STORES), default="secretsmanager", no_log=False),
        secret_name=dict(type="str", no_log=False),
        kms_key_id=dict(type="str", no_log=False),
        description=dict(type="str"),
        recreate=dict(type="bool", default=False),
        return_private_key=dict(type="bool", default=False, no_log=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


def key_pair_params(params):
    """Each key pair's options: ``(field, options)``, the field naming its name in messages."""
    if params["names"] is None:
        return [("name", params)]
    return [(f"names[{index}]", dict(params, name=name, names=None)) for index, name in enumerate(params["names"])]


def params_errors(each):
    errors = []
    for field, params in each:
        check = kp.present_params_errors if params["state"] == "present" else kp.absent_params_errors
        errors.extend(check(params, field))
    return errors


def several(results):
    """The result of a run over O(names): their results in order, the actions of all, one diff per key pair."""
    merged = {"changed": any(r["changed"] for r in results), "actions": [a for r in results for a in r["actions"]],
              "key_pairs": [{k: v for k, v in r.items() if k not in ("changed", "diff")} for r in results]}
    if any("diff" in r for r in results):
        merged["diff"] = [r["diff"] for r in results if "diff" in r]
    return merged


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True,
                              mutually_exclusive=[("name", "names"), ("names", "secret_name")],
                              required_one_of=[("name", "names")])
    params = module.params
    each = key_pair_params(params)
    errors = params_errors(each)
    if errors:
        module.fail_json(msg="Invalid parameters: " + "; ".join(errors), errors=errors)
    if params["state"] == "present" and not kp.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography", reason="to derive public keys from stored private keys"))

    key_pairs, store = api.KeyPairs.from_module(module), api.secret_store(module, params["secret_store"])
    results = []
    for _field, run_params in each:
        run = KeypairRun(module, key_pairs, store, run_params)
        try:
            results.append(run.present() if params["state"] == "present" else run.absent())
        except kp.HalfStateError as error:
            module.fail_json(msg=str(error), half_state=error.state, **outcome(params, results, run))
        except api.KeypairAWSError as error:
            module.fail_json_aws(error.exception, msg=error.message, **outcome(params, results, run))
    module.exit_json(**(results[0] if params["names"] is None else several(results)))


def outcome(params, results, failed_run):
    """What a failed run returns: its own outcome; with O(names), also what the key pairs before it did."""
    return failed_run.outcome() if params["names"] is None else several(results + [failed_run.outcome()])


if __name__ == "__main__":
    main()
