#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: project_teardown
version_added: 0.1.0
short_description: Remove one project's cluster and everything the collection made for it, in order, in one run
description:
  - What the delete playbook does, in one module run (one process; each module run costs about 0.5 s of Python,
    imports and AWS clients, and the steps were eleven), in this order, each step a no-op when its piece is gone
    (a re-run, a half-created project, a run that was interrupted), as follows.
  - 1. With O(mark), marks the cluster as being deleted (an item C(deleting#<cluster>) of O(claim_table), which is
    no claim; it expires after O(wait_timeout) plus 600 s). A create racing this run is refused at its claim, or finds
    the mark after its cluster step and removes what it made.
  - 2. Deletes the cluster through aws-parallelcluster (which also terminates compute nodes that are not in the
    stack).
  - 3. While CloudFormation deletes the stack, deletes what does not depend on the cluster being gone. The project's
    data repository associations on shared FSx file systems (those carrying the project's cost tags; their files stay
    in S3), waiting until they are gone. The key pairs C(<cluster>) and C(<cluster>_sim) and the secrets or
    parameters that hold their private keys (where their link tags say, else the default names in O(secret_store)).
    The cluster's node variables, copy of the collection and published head node host key in O(node_assets_bucket).
  - 4. Waits until the stack is gone.
  - 5. Deletes the head node's REST security group C(<cluster>-slurm-rest), found by name in any VPC.
  - 6. With O(delete_logs), deletes pcluster's log groups of the cluster (C(/aws/parallelcluster/<cluster>-<time>),
    kept by pcluster's Retain policy) and the project's job log group (C(/obi/hpc/<vlab_id>/<project_id>)).
  - 7. Releases the cluster's subnet claim, last. When the cluster's stack exists again (a create that started
    before the mark made it meanwhile), steps 2 to 7 run once more.
  - 8. Removes the mark, also when a step failed (then a create waiting for this run goes on).
  - The cluster is the first of the names the collection's naming rule gives the ids whose stack exists; when none
    exists, every such name's resources go (a project whose create stopped before its cluster step). O(cluster_name)
    names it instead.
  - Before any write, a cluster or key pair of these names whose cost tags (C(obp:costcenter:vlabid),
    C(obp:costcenter:project)) name another project is refused as a name collision, and nothing is changed.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  vlab_id:
    description: The virtual lab's id (lower-case letters, digits, hyphens, at most 36 characters; a UUID fits).
    type: str
    required: true
  project_id:
    description: The project's id (the same rule).
    type: str
    required: true
  cluster_name:
    description:
      - The cluster, when the caller knows it (a create removing what it made); by default the naming rule's.
    type: str
  claim_table:
    description: The DynamoDB table of subnet claims (hash key C(subnet_id)), which also holds the deletion marks.
    type: str
    required: true
  secret_store:
    description:
      - Where a key pair without link tags keeps its private key (the site's key store); a key pair's link tags win.
    type: str
    choices: [secretsmanager, ssm]
    default: secretsmanager
  node_assets_bucket:
    description: The infra bucket that holds the cluster's node assets; when not set, that step is skipped.
    type: str
  node_assets_prefix:
    description: Their prefix in O(node_assets_bucket) (the site setting C(hpc_node_assets_prefix)).
    type: str
    default: hpc_provisioner/node
  delete_logs:
    description: Delete the cluster's log groups (pcluster's and the job log group).
    type: bool
    default: true
  mark:
    description:
      - Mark the cluster as being deleted while the run lasts (see the description). A create that removes what it
        made once a delete has ended leaves it out.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the run may wait in all, for the cluster's stack and the associations to be gone.
    type: int
    default: 3600
  poll_interval:
    description: The longest pause between two polls, in seconds (0.25 s apart for the first second, then each pause half as long again as the one before).
    type: float
    default: 15
notes:
  - Check mode makes no mutating call (no mark either) and reports what would be removed; diff mode shows what
    exists before and nothing after.
  - "IAM: what M(obi.hpc_provisioner.pcluster_cluster) needs to delete a cluster; C(ec2:DescribeSecurityGroups),
    C(ec2:DeleteSecurityGroup); C(fsx:DescribeDataRepositoryAssociations), C(fsx:DeleteDataRepositoryAssociation);
    what M(obi.hpc_provisioner.vlab_keypair) needs with O(obi.hpc_provisioner.vlab_keypair#module:state=absent);
    C(s3:GetObject), C(s3:DeleteObject) on the node assets; C(logs:DescribeLogGroups), C(logs:DeleteLogGroup);
    C(dynamodb:Scan), C(dynamodb:GetItem), C(dynamodb:PutItem), C(dynamodb:DeleteItem) on O(claim_table)."
  - Throttling, AWS's transient server errors and lost connections are retried with jittered backoff.
seealso:
  - module: obi.hpc_provisioner.pcluster_cluster
  - module: obi.hpc_provisioner.deletion_marker
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Delete a project's cluster and everything that belongs to it
  obi.hpc_provisioner.project_teardown:
    vlab_id: 3f1c2a4e-8b7d-4c1e-9f2a-1b2c3d4e5f60
    project_id: 7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d
    claim_table: obi-hpc-subnet-claims
    node_assets_bucket: obi-hpc-infra-assets
  register: teardown
"""

RETURN = r"""
extends_documentation_fragment:
  - obi.hpc_provisioner.run
actions:
  description:
    - What the module did (or would do in check mode), in order. Items are V(delete_cluster),
      V(delete_security_group), V(delete_association), V(delete_key_pair), V(delete_secret), V(delete_object),
      V(delete_log_group) and V(release_claim). The mark is no change of its own (the run removes it), so it is not
      listed.
  sample: [delete_cluster, delete_key_pair, delete_secret, delete_key_pair, delete_secret, release_claim]
cluster_name:
  description: The cluster the run removed (the first name when there was none).
  returned: always
  type: str
  sample: pcluster-589c90e29929f3e051a7fc9db4ae799
removed:
  description: What the run removed (or would remove in check mode), by kind.
  returned: always
  type: dict
  contains:
    clusters:
      description: The clusters whose stacks were deleted, or were being deleted and were waited for.
      type: list
      elements: str
    security_groups:
      description: Ids of the REST security groups.
      type: list
      elements: str
    associations:
      description: Ids of the data repository associations.
      type: list
      elements: str
    key_pairs:
      description: Names of the key pairs.
      type: list
      elements: str
    secrets:
      description: Names of the secrets or parameters with their private keys.
      type: list
      elements: str
    objects:
      description: Keys of the node assets.
      type: list
      elements: str
    log_groups:
      description: Names of the log groups.
      type: list
      elements: str
    claims:
      description: Ids of the subnets whose claims were released.
      type: list
      elements: str
  sample: {clusters: [pcluster-589c90e29929f3e051a7fc9db4ae799], security_groups: [], associations: [],
           key_pairs: [pcluster-589c90e29929f3e051a7fc9db4ae799, pcluster-589c90e29929f3e051a7fc9db4ae799_sim],
           secrets: [pcluster-589c90e29929f3e051a7fc9db4ae799, pcluster-589c90e29929f3e051a7fc9db4ae799_sim],
           objects: [], log_groups: [], claims: [subnet-0123456789abcdef0]}
passes:
  description: How many times steps 2 to 7 ran (2 when a racing create made the cluster again meanwhile).
  returned: always
  type: int
  sample: 1
elapsed_seconds:
  description: How long the run took, in seconds.
  returned: always
  type: float
"""

import re

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_plan as plan
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.cluster_stack import ClusterStack
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.cluster_stack import stack_status
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxApi
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair_run import KeypairRun
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.node_assets import Bucket
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import PclusterFailure
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import apply_aws_environment
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import ClusterReader
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import owner_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout

MARK_GRACE_SECONDS = 600  # a mark outlives the longest wait of the run that made it by this much
REMOVED_KINDS = ("clusters", "security_groups", "associations", "key_pairs", "secrets", "objects", "log_groups", "claims")
PASSES = 2  # the second removes a cluster that a racing create made during the first


class TeardownError(Exception):
    """A step could not complete: the message says which and why; what was removed before it is in the result."""


class TeardownRun(Run):
    """One run: finds what the project has, refuses a name collision, then removes it step by step."""

    def __init__(self, module, region):
        super().__init__(module)
        self.region = region
        self.vlab_id, self.project_id = self.params["vlab_id"], self.params["project_id"]
        self.deadline = Deadline(self.params["wait_timeout"])
        self.reader = ClusterReader(module, region)
        self.dynamodb = aws.client(module, "dynamodb")
        self.removed = {kind: [] for kind in REMOVED_KINDS}
        self.marked = []
        self.passes = 0
        self.names = []  # the clusters whose resources go
        self.key_pairs = None
        self.secret_references = {}  # key pair name -> (store, secret name), from its link tags
        self._environment_applied = False

    def outcome(self):
        return dict(super().outcome(), cluster_name=(self.names or [None])[0], removed=self.removed, passes=self.passes,
                    elapsed_seconds=self.deadline.elapsed())

    def _removed(self, action, kind, what, operation, *args):
        self._act(action, operation, *args)
        self.removed[kind].append(what)

    # ---------------------------------------------------------------------------------------- finding

    def find(self):
        """The clusters whose resources go; TeardownError on a name collision (before any write)."""
        candidates = ([self.params["cluster_name"]] if self.params["cluster_name"]
                      else names.cluster_name_candidates(self.vlab_id, self.project_id))
        stacks = {name: ClusterStack(self.reader, name, self.deadline, self.params["poll_interval"]).read()
                  for name in candidates}
        existing = [name for name in candidates if stacks[name] is not None]
        self.names = existing[:1] or candidates
        errors = [owner_error(f"cluster {name}", stacks[name].get("Tags", []), self.vlab_id, self.project_id)
                  for name in existing[:1]]
        self.key_pairs = keypair_api.KeyPairs.from_module(self.module)
        for name in self.names:
            for key_name in names.key_names(name):
                key_pair = self.key_pairs.find(key_name)
                if key_pair is not None:
                    self.secret_references[key_name] = kp.secret_reference(kp.key_pair_tags(key_pair), key_name)
                    errors.append(owner_error(f"key pair {key_name}", key_pair.get("Tags", []), self.vlab_id,
                                              self.project_id))
        errors = [error for error in errors if error]
        if errors:
            raise TeardownError("; ".join(errors))
        self._set_diff({"clusters": {name: stack_status(stacks[name]) for name in candidates}}, {"clusters": {}})

    # ---------------------------------------------------------------------------------------- the run

    def teardown(self):
        self.find()
        try:
            # The mark is no change of its own (it goes at the end): it is not one of the actions.
            if self.params["mark"] and not self.check_mode:
                for name in self.names:
                    sc.put_marker(self.dynamodb, self.params["claim_table"], name,
                                  self.params["wait_timeout"] + MARK_GRACE_SECONDS,
                                  {"vlab_id": self.vlab_id, "project_id": self.project_id})
                    self.marked.append(name)
            while self.passes < PASSES:
                self.passes += 1
                if all(self.remove(name) for name in self.names):
                    return
            raise TeardownError(f"cluster {self.names[0]} was created again while it was being deleted, twice: "
                                "run the delete again")
        finally:
            self.unmark()

    def unmark(self):
        while self.marked:
            sc.delete_marker(self.dynamodb, self.params["claim_table"], self.marked.pop())

    def remove(self, name):
        """Steps 2 to 7 for one cluster; False when its stack exists again at the end (its claim then stays).

        What does not depend on the cluster being gone (the DRAs, the key pairs, the node assets) goes while
        CloudFormation deletes the stack (minutes on AWS); the REST security group (on the head node's network
        interface until the instance is gone), the log groups (the nodes' agents write to them until they stop) and the
        claim go once the stack is gone.
        """
        resources = names.cluster_resource_names(name, self.params["node_assets_prefix"])
        stack = self.start_cluster_deletion(name)
        self.delete_associations()
        self.delete_key_pairs(names.key_names(name))
        if self.params["node_assets_bucket"]:
            self.delete_objects([resources["node_vars_key"], resources["collection_key"], resources["host_key_key"]])
        if stack is not None and not self.check_mode:
            stack.await_end("delete")
        self.delete_security_groups(resources["rest_security_group"])
        if self.params["delete_logs"]:
            self.delete_log_groups(resources["pcluster_log_group_prefix"])
        if not self.check_mode and self.reader.stack(name) is not None:
            return False
        for subnet_id in sc.release(self.dynamodb, self.params["claim_table"], name, check_mode=True):
            self._removed("release_claim", "claims", subnet_id, sc.delete_claim, self.dynamodb,
                          self.params["claim_table"], name, subnet_id)
        return True

    # ---------------------------------------------------------------------------------------- the steps

    def start_cluster_deletion(self, name):
        """Delete the cluster through pcluster (a delete under way is not started again); the stack to wait for, None
        when there is none."""
        stack = ClusterStack(self.reader, name, self.deadline, self.params["poll_interval"])
        action = plan.absent_action(stack_status(stack.read()))
        if action == "none":
            return None
        if action == "delete":
            if not self._environment_applied:  # before pcluster is imported: it makes its clients from the environment
                apply_aws_environment(self.module)
                self._environment_applied = True
            self._act("delete_cluster", stack.delete)
        self.removed["clusters"].append(name)
        return stack

    def delete_security_groups(self, group_name):
        ec2 = aws.client(self.module, "ec2")
        found = aws.paginate(ec2, "describe_security_groups",
                             Filters=[{"Name": "group-name", "Values": [group_name]}])["SecurityGroups"]
        for group in found:
            self._removed("delete_security_group", "security_groups", group["GroupId"], self._delete_group, ec2,
                          group["GroupId"])

    def _delete_group(self, ec2, group_id):
        """The instances are gone, but their network interfaces may take a while to go (DependencyViolation)."""
        def attempt():
            try:
                ec2.delete_security_group(GroupId=group_id, aws_retry=True)
            except is_boto3_error_code("InvalidGroup.NotFound"):
                pass
            except is_boto3_error_code("DependencyViolation"):
                return False
            return True

        self.deadline.until(attempt, bool, f"security group {group_id} to be free", self.params["poll_interval"])

    def delete_associations(self):
        fsx = FsxApi.from_module(self.module)
        tags = {names.COST_TAG_VLAB: self.vlab_id, names.COST_TAG_PROJECT: self.project_id}
        for association in [a for a in fsx.associations() if dra.matches(a, tags=tags)]:
            association_id = association["AssociationId"]
            if association["Lifecycle"] == dra.DELETING:  # a delete under way is waited for, not started again
                self.removed["associations"].append(association_id)
            else:
                self._removed("delete_association", "associations", association_id, fsx.delete, association_id, False)
            if not self.check_mode:
                self.deadline.until(lambda a=association_id: fsx.association(a), lambda found: found is None,
                                    f"association {association_id} to be deleted", self.params["poll_interval"],
                                    status_of=lambda found: found and found["Lifecycle"])

    def delete_key_pairs(self, key_names):
        """Each key pair and its secret, as vlab_keypair state=absent (key pair first); a secret whose key pair is
        gone is found by its default name in the site's key store."""
        for key_name in key_names:
            store_name, secret_name = self.secret_references.get(key_name, (self.params["secret_store"], None))
            params = {"name": key_name, "secret_name": secret_name, "state": "absent", "return_private_key": False}
            run = KeypairRun(self.module, self.key_pairs, keypair_api.secret_store(self.module, store_name), params)
            done = run.absent()["actions"]
            self.actions.extend(done)
            if kp.DELETE_KEY_PAIR in done:
                self.removed["key_pairs"].append(key_name)
            if kp.DELETE_SECRET in done:
                self.removed["secrets"].append(run.secret_name)

    def delete_objects(self, keys):
        bucket = Bucket(aws.client(self.module, "s3"), self.params["node_assets_bucket"])
        for key in keys:
            if bucket.head(key) is not None:
                self._removed("delete_object", "objects", key, bucket.delete, key)

    def delete_log_groups(self, pcluster_prefix):
        logs = aws.client(self.module, "logs")
        own = re.compile(re.escape(pcluster_prefix) + r"[0-9]+$")  # the prefix also finds clusters named <this>-...
        job_group = names.job_log_group(self.vlab_id, self.project_id)
        found = [g["logGroupName"] for prefix in (pcluster_prefix, job_group)
                 for g in aws.paginate(logs, "describe_log_groups", logGroupNamePrefix=prefix)["logGroups"]]
        for group in [g for g in found if own.match(g) or g == job_group]:
            self._removed("delete_log_group", "log_groups", group, self._delete_log_group, logs, group)

    @staticmethod
    def _delete_log_group(logs, group):
        try:
            logs.delete_log_group(logGroupName=group, aws_retry=True)
        except is_boto3_error_code("ResourceNotFoundException"):
            pass  # another run deleted it meanwhile


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vlab_id=dict(type="str", required=True),
            project_id=dict(type="str", required=True),
            cluster_name=dict(type="str"),
            claim_table=dict(type="str", required=True),
            secret_store=dict(type="str", choices=list(kp.SECRET_STORES), default="secretsmanager", no_log=False),
            node_assets_bucket=dict(type="str"),
            node_assets_prefix=dict(type="str", default=names.DEFAULT_NODE_ASSETS_PREFIX),
            delete_logs=dict(type="bool", default=True),
            mark=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
            poll_interval=dict(type="float", default=15),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = [names.id_error(field, params[field]) for field in ("vlab_id", "project_id")]
    if not params["claim_table"].strip():
        errors.append("claim_table: must not be empty (the DynamoDB table of subnet claims)")
    if params["wait_timeout"] < 1:
        errors.append(f"wait_timeout: {params['wait_timeout']} is not valid: a whole number of seconds, at least 1")
    errors = [error for error in errors if error]
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    run = TeardownRun(module, module.region)
    try:
        run.teardown()
    except (TeardownError, PclusterFailure, WaitTimeout, kp.HalfStateError) as error:
        module.fail_json(msg=_message(run, error), **getattr(error, "details", {}), **run.outcome())
    except AnsibleAWSError as error:
        module.fail_json_aws(error.exception, msg=error.message, **run.outcome())
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot delete the project's cluster {run.outcome()['cluster_name']}",
                             **run.outcome())
    module.exit_json(**run.report())


def _message(run, error):
    if isinstance(error, WaitTimeout):
        return (f"timed out after {run.params['wait_timeout']} s (wait_timeout) waiting for {error.phase}; run the "
                "delete again to go on")
    return str(getattr(error, "message", error))


if __name__ == "__main__":
    main()
