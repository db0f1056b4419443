#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: pcluster_cluster
version_added: 0.1.0
short_description: Create, update and delete AWS ParallelCluster clusters
description:
  - Creates, updates and deletes an AWS ParallelCluster cluster through the aws-parallelcluster Python library
    (C(pcluster.lib), version 3.16), so that the cluster is exactly what the C(pcluster) command would make.
  - With O(state=present) and no cluster of that name, the cluster is created (pcluster validates the configuration
    before its first write; in check mode only its dryrun runs). With an existing cluster, pcluster's update dryrun
    gives the change set; an empty change set changes nothing (no mutating call at all), otherwise the cluster is
    updated and the change set is the diff.
  - With O(state=absent) the cluster is deleted. A cluster already being deleted is waited for, never deleted twice.
  - The cluster name and the configuration's fields are checked before any AWS call; an error names the field and why,
    and nothing is created.
  - While waiting, the module polls with backoff (not boto3's 30 s waiters) and returns the status seen at each poll
    with the elapsed time in RV(progress).
  - Check mode runs only pcluster's dryruns and reports what would change.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  name:
    description:
      - The cluster's name, also the name of its CloudFormation stack.
      - A letter first, then letters, digits and hyphens; 2 to 60 characters, at most 40 with Slurm accounting
        (C(Scheduling.SlurmSettings.Database) or C(ExternalSlurmdbd) in the configuration).
    type: str
    required: true
    aliases: [cluster_name]
  state:
    description:
      - V(present) creates the cluster or updates it to O(config); V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  config:
    description:
      - The cluster configuration, as a dictionary in ParallelCluster's format (C(HeadNode), C(Scheduling), ...).
      - One of O(config) and O(config_file) is required with O(state=present).
    type: dict
  config_file:
    description:
      - Path (on the managed host) of a YAML file holding the cluster configuration.
    type: path
  wait:
    description:
      - Wait until the create, update or delete has finished, and fail if it did not succeed.
      - An update that stops the compute fleet always waits for the update, so that the fleet can be started again.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole module run may spend waiting.
    type: int
    default: 3600
  poll_interval:
    description:
      - The longest pause, in seconds, between two polls while waiting. For the first second the pauses are 0.25
        seconds (or less if O(poll_interval) is less), then each next pause is half as long again, up to O(poll_interval).
    type: float
    default: 15
  rollback_on_failure:
    description:
      - Let CloudFormation roll the cluster's stack back when the creation fails.
      - The default V(false) keeps a failed stack (status C(CREATE_FAILED)) so that its resources and logs can be
        inspected.
    type: bool
    default: false
  claim:
    description:
      - The cluster's subnet claim in this collection's claim table (see M(obi.hpc_provisioner.subnet_claim)), for a
        caller that claimed the subnet before this module runs and must know whether a delete ran meanwhile (two jobs
        for one project at once).
      - With O(state=present) and not in check mode, once the cluster is created or updated, the module reads the
        cluster's deletion mark (M(obi.hpc_provisioner.deletion_marker)) and its claim in O(claim.table); when the mark
        is there or the claim is not O(claim.subnet_id) any more, it fails with RV(raced_delete) set, so that the caller
        can wait for that delete and remove what it made. One module run instead of a
        M(obi.hpc_provisioner.deletion_marker_info) after this one.
    type: dict
    suboptions:
      table:
        description: The DynamoDB table of subnet claims.
        type: str
        required: true
      subnet_id:
        description: The subnet the caller claimed for the cluster.
        type: str
        required: true
  validate_schema:
    description:
      - Check O(config) against pcluster's own schema, offline, before any AWS call, so that an invalid configuration
        fails naming its fields (C(config_errors)) and nothing is read or made.
      - V(false) for a caller that has checked it already (the create playbook, with the cluster_config role, before
        its first write); pcluster's create and update check the schema again anyway.
    type: bool
    default: true
  suppress_validators:
    description:
      - pcluster configuration validators to suppress, as C(ALL) or C(type:ValidatorName).
    type: list
    elements: str
  validation_failure_level:
    description:
      - The lowest level of validation message that makes pcluster refuse the configuration (pcluster's default is
        V(ERROR)).
    type: str
    choices: [INFO, WARNING, ERROR]
  force_update:
    description:
      - Update even when pcluster's update validation fails (pcluster's C(--force-update)).
    type: bool
    default: false
  on_fleet_stop_required:
    description:
      - What to do when pcluster refuses an update until the compute fleet is stopped (for example a compute
        resource's C(InstanceType) changes, or a queue is removed).
      - V(fail) fails and says which changes need the stop; nothing is changed.
      - V(stop) stops the compute fleet, waits until it is C(STOPPED), updates the cluster and leaves the fleet stopped.
      - V(stop_and_start) does the same, then starts the fleet again once the update has finished (also when the
        update failed).
    type: str
    choices: [fail, stop, stop_and_start]
    default: fail
  on_create_failed:
    description:
      - What O(state=present) does with a cluster whose creation failed (status C(CREATE_FAILED)).
      - V(fail) fails with the stack's failure reasons and failed stack events, and leaves the cluster for inspection.
      - V(recreate) deletes the failed cluster, waits until it is gone and creates it again.
    type: str
    choices: [fail, recreate]
    default: fail
notes:
  - Needs C(node) (10.13 or later) on the host running the module for create and update, as pcluster synthesises its
    CloudFormation templates with the AWS CDK.
  - aws-parallelcluster takes its endpoint, region and credentials from the environment; the module exports its
    connection options (O(endpoint_url), O(region), O(access_key), O(secret_key), O(session_token), O(profile)) there.
  - Reads (describe, polling) use boto3 directly; C(pcluster.lib) is only imported to validate and change clusters.
requirements:
  - aws-parallelcluster == 3.16.1
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create (or update) a project's cluster and wait until it is ready
  obi.hpc_provisioner.pcluster_cluster:
    name: pcluster-vlab1-project1
    region: us-east-1
    config: "{{ lookup('ansible.builtin.template', 'cluster.yaml.j2') | from_yaml }}"
  register: cluster

- name: Show the head node's private address
  ansible.builtin.debug:
    msg: "{{ cluster.cluster.head_node.private_ip_address }}"

- name: See what an update would change, without changing anything
  obi.hpc_provisioner.pcluster_cluster:
    name: pcluster-vlab1-project1
    config_file: /etc/hpc/pcluster-vlab1-project1.yaml
  check_mode: true
  diff: true

- name: Change a compute resource's instance type, stopping and restarting the compute fleet around the update
  obi.hpc_provisioner.pcluster_cluster:
    name: pcluster-vlab1-project1
    config_file: /etc/hpc/pcluster-vlab1-project1.yaml
    on_fleet_stop_required: stop_and_start

- name: Start over after a failed creation
  obi.hpc_provisioner.pcluster_cluster:
    name: pcluster-vlab1-project1
    config_file: /etc/hpc/pcluster-vlab1-project1.yaml
    on_create_failed: recreate

- name: Delete the cluster and wait until it is gone
  obi.hpc_provisioner.pcluster_cluster:
    name: pcluster-vlab1-project1
    state: absent
"""

RETURN = r"""
extends_documentation_fragment:
  - obi.hpc_provisioner.run
raced_delete:
  description:
    - Set when O(claim) was given and a delete of the cluster ran while the module did (its mark was found, or the
      claim was gone); the module then fails, with RV(deletion_marker) and RV(claim) as found.
  returned: on that failure
  type: bool
deletion_marker:
  description: The cluster's deletion mark (C(cluster), C(started_at), C(expires_at), C(live)), V(null) when none.
  returned: on a failure with RV(raced_delete)
  type: dict
claim:
  description: The cluster's claim found in O(claim.table), V(null) when none.
  returned: on a failure with RV(raced_delete)
  type: dict
cluster:
  description:
    - The cluster as pcluster's C(describe-cluster) reports it (snake_case keys, tags as a dictionary), plus its
      CloudFormation outputs; the same fields as RV(obi.hpc_provisioner.pcluster_cluster_info#module:clusters).
    - Empty when the cluster does not exist (after a delete, or in check mode before a create).
  returned: always
  type: dict
  sample:
    cluster_name: pcluster-vlab1-project1
    cluster_status: CREATE_COMPLETE
    cloudformation_stack_status: CREATE_COMPLETE
    cloudformation_stack_arn: arn:aws:cloudformation:us-east-1:123456789012:stack/pcluster-vlab1-project1/e4b9
    region: us-east-1
    version: 3.16.1
    scheduler: {type: slurm}
    creation_time: "2025-11-21T05:43:49.516Z"
    last_updated_time: "2025-11-21T05:43:49.516Z"
    compute_fleet_status: RUNNING
    head_node:
      instance_id: i-0d01610c70f3a6b06
      instance_type: t3.medium
      private_ip_address: 10.0.0.45
      public_ip_address: null
      state: running
      launch_time: "2025-11-21T05:43:49.000Z"
    tags: {"obp:costcenter:vlabid": vlab1, "obp:costcenter:project": project1, "parallelcluster:version": 3.16.1}
    outputs: {HeadNodeSecurityGroupId: sg-0123}
    cluster_configuration: {url: "https://parallelcluster-....s3.amazonaws.com/.../cluster-config.yaml?..."}
actions:
  description:
    - What the module did (in check mode, would do), in order. Possible items are V(create), V(update), V(delete),
      V(stop_compute_fleet) and V(start_compute_fleet).
  sample: [stop_compute_fleet, update, start_compute_fleet]
validation_messages:
  description: pcluster's validation messages about the configuration (warnings too), from the create, its dryrun (check mode) or the update dryrun.
  returned: always
  type: list
  elements: dict
  contains:
    level:
      description: INFO, WARNING or ERROR.
      type: str
    type:
      description: The validator.
      type: str
    message:
      description: What the validator found.
      type: str
  sample: [{level: WARNING, type: KeyPairValidator, message: "If you do not specify a key pair, ..."}]
change_set:
  description: The changes of an update, from pcluster's update dryrun (also the diff).
  returned: always
  type: list
  elements: dict
  contains:
    parameter:
      description: The configuration path of the changed parameter.
      type: str
    current_value:
      description: The cluster's value (C(-) when unset).
      type: str
    requested_value:
      description: The configuration's value (C(-) when unset).
      type: str
  sample: [{parameter: "Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount", current_value: "4",
            requested_value: "10"}]
progress:
  description: The status seen at each poll while waiting, with the seconds elapsed since the module started.
  returned: always
  type: list
  elements: dict
  contains:
    elapsed:
      description: Seconds since the module started.
      type: float
    phase:
      description: What was waited for (C(create), C(update), C(delete), C(settle), C(stop_compute_fleet), C(start_compute_fleet)).
      type: str
    status:
      description: The stack status (C(null) once gone), or the compute fleet status.
      type: str
  sample: [{elapsed: 7.1, phase: create, status: CREATE_IN_PROGRESS}, {elapsed: 8.2, phase: create, status: CREATE_COMPLETE}]
elapsed_seconds:
  description: Seconds the module run took.
  returned: always
  type: float
  sample: 12.4
failed_events:
  description: The newest failed events of the cluster's stack, newest first, when a create, update or delete failed.
  returned: on failure
  type: list
  elements: dict
  sample: [{timestamp: "2025-11-21T05:44:02.000Z", logical_resource_id: HeadNodeWaitCondition1732,
            resource_type: "AWS::CloudFormation::WaitCondition", resource_status: CREATE_FAILED,
            resource_status_reason: "Failed to execute OnNodeConfigured script"}]
"""

try:
    import yaml
except ImportError:
    HAS_YAML = False
else:
    HAS_YAML = True

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_library as library
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_plan as plan
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim as sc
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.cluster_stack import ClusterStack
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.cluster_stack import stack_status
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import PclusterFailure
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import apply_aws_environment
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import uses_slurm_accounting
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_describe import ClusterReader
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout


class ClusterRun(Run):
    """One run of the module on one cluster: what it reads, does and reports."""

    def __init__(self, module, region):
        super().__init__(module)
        self.name = module.params["name"]
        self.region = region
        self.reader = ClusterReader(module, region)
        self.progress = Deadline(module.params["wait_timeout"])
        self.stack = ClusterStack(self.reader, self.name, self.progress, module.params["poll_interval"])
        self.facts = {"validation_messages": [], "change_set": []}
        self.raced = False  # a concurrent run created the cluster first, and this run carries on with it

    def outcome(self):
        return dict(self.facts, **super().outcome(), progress=self.progress.polls, elapsed_seconds=self.progress.elapsed())

    def result(self, cluster):
        """The result, failures included (with what pcluster says about the failure)."""
        return self.report(cluster=cluster or {})

    def record_messages(self, response):
        """Keep the validation messages of the create or update that ran (the dryrun's when it has none)."""
        self.facts["validation_messages"] = response.get("validation_messages") or self.facts["validation_messages"]

    # Waiting -------------------------------------------------------------------------------------------------

    def await_fleet(self, phase, target):
        status = self.progress.until(lambda: self.reader.fleet_status(self.name),
                                     lambda s: s in plan.FLEET_SETTLED_STATUSES, phase, self.params["poll_interval"])
        if status != target:
            raise PclusterFailure(f"Cluster {self.name}: the compute fleet is {status}, not {target}")

    # state=present -------------------------------------------------------------------------------------------

    def present(self, config):
        stack = self.stack.read()
        action = plan.present_action(stack_status(stack), self.params["on_create_failed"])
        if action in ("await", "await_deletion") and self.params["wait"] and not self.check_mode:
            stack = self.stack.await_end("settle")
            action = plan.present_action(stack_status(stack), self.params["on_create_failed"])
        return self._step(("present", action), config, stack)

    def create(self, config, _stack=None):
        self._set_diff({}, config)
        if self.check_mode:
            self.actions.append("create")
            self.facts["validation_messages"] = library.validate_create(self.name, config, self.region, self.params)
            return None
        # pcluster's create validates everything before its first write, and fails as its dryrun would: a dryrun
        # first would only repeat the validation (1-2 s and some 17 AWS reads). Refused, it has written nothing: the
        # run is not a change.
        try:
            self.record_messages(library.create(self.name, config, self.region, self.params))
        except PclusterFailure:
            # A concurrent run (a retried or duplicated request) may have created the cluster meanwhile ("Stack ...
            # already exists"): then its cluster is this one's, and the run goes on as if it had found it.
            if self.raced or self.stack.read() is None:
                raise
            self.raced, self.diff = True, None
            self.module.warn(f"Cluster {self.name} was created by a concurrent run; this run carries on with it.")
            return self.present(config)
        self.actions.append("create")
        stack = self.stack.await_end("create") if self.params["wait"] else None
        return self.reader.describe(self.name, stack)

    def update(self, config, stack):
        # What pcluster stored is what it compares with: the same configuration is "No changes found" without
        # loading pcluster (~0.8 s) and its dryrun (validators, ~1.5 s), the cost of every no-change re-run.
        if self.reader.stored_config(stack) == config:
            return self.reader.describe(self.name, stack)
        planned = library.plan_update(self.name, config, self.region, self.params)
        self.facts.update(change_set=planned["change_set"], validation_messages=planned["validation_messages"])
        if not planned["change_set"] and not planned["update_errors"]:
            return self.reader.describe(self.name, stack)
        fleet_steps = self.fleet_steps(planned)
        self.actions.extend(fleet_steps[:1] + ["update"] + fleet_steps[1:])
        self.diff = plan.change_set_diff(planned["change_set"])
        if self.check_mode:
            return self.reader.describe(self.name, stack)
        if fleet_steps:
            return self.update_with_fleet_stopped(config, "start_compute_fleet" in fleet_steps)
        self.record_messages(library.update(self.name, config, self.region, self.params))
        return self.reader.describe(self.name, self.stack.await_end("update") if self.params["wait"] else None)

    def fleet_steps(self, planned):
        """The fleet steps the update needs ([] when none); PclusterFailure when the update cannot go through."""
        errors = planned["update_errors"]
        if not errors:
            return []
        details = {"change_set": planned["change_set"], "update_validation_errors": errors}
        reasons = plan.describe_update_errors(errors)
        if not plan.fleet_stop_resolves(errors):
            raise PclusterFailure("\n".join([f"Cluster {self.name} cannot be updated:"] + reasons), **details)
        if self.params["on_fleet_stop_required"] == "fail":
            remedy = ("Set on_fleet_stop_required to stop_and_start (or stop) to let the module stop the compute fleet, "
                      "update the cluster and start the fleet again.")
            lines = [f"Cluster {self.name}: the update needs the compute fleet stopped:", *reasons, remedy]
            raise PclusterFailure("\n".join(lines), **details)
        return plan.fleet_actions(self.params["on_fleet_stop_required"])

    def update_with_fleet_stopped(self, config, restart):
        """Stop the fleet, update, wait for the update (the fleet can only start on a settled stack), start again."""
        library.request_fleet_status(self.name, self.region, "STOP_REQUESTED")
        self.await_fleet("stop_compute_fleet", "STOPPED")
        try:
            self.record_messages(library.update(self.name, config, self.region, self.params))
            stack = self.stack.await_end("update")
        finally:
            if restart:
                self.start_fleet()
        return self.reader.describe(self.name, stack)

    def start_fleet(self):
        """Start the fleet again; when that fails too, warn instead of hiding the error being raised, if any."""
        try:
            library.request_fleet_status(self.name, self.region, "START_REQUESTED")
            if self.params["wait"]:
                self.await_fleet("start_compute_fleet", "RUNNING")
        except (PclusterFailure, WaitTimeout) as error:
            self.module.warn(f"Cluster {self.name}: the compute fleet could not be started again: {error}")

    def recreate(self, config, stack):
        self.actions.append("delete")
        if self.check_mode:
            self.actions.append("create")
            self._set_diff({"cluster_status": stack_status(stack)}, config)
            return self.reader.describe(self.name, stack)
        self.stack.delete()
        self.stack.await_end("delete")
        self.raced = False  # this create, too, may carry on once with a cluster that a concurrent run created
        return self.create(config)

    def in_transition(self, _config, stack):
        self.module.warn(f"Cluster {self.name} is {stack_status(stack)}: its configuration was not compared. "
                         "Run again with wait: true (not in check mode) to wait for it and then update it.")
        return self.reader.describe(self.name, stack)

    def being_deleted(self, config, stack):
        if not self.check_mode:
            raise PclusterFailure(f"Cluster {self.name} is being deleted (DELETE_IN_PROGRESS); run again with wait: true "
                                  "to wait until it is gone and create it again.",
                                  cluster=self.reader.describe(self.name, stack))
        self.actions.append("create")
        self._set_diff({"cluster_status": "DELETE_IN_PROGRESS"}, config)
        return self.reader.describe(self.name, stack)

    def create_failed(self, _config, stack):
        raise self.stack.failure(stack, f"Cluster {self.name} failed to create ({stack_status(stack)}). Set on_create_failed: "
                                        "recreate to delete and create it again, or state: absent to delete it.")

    def stuck(self, _config, stack):
        raise self.stack.failure(stack, f"Cluster {self.name} is {stack_status(stack)}, from which no create, update or "
                                        "delete can proceed; resolve it in CloudFormation first.")

    # state=absent --------------------------------------------------------------------------------------------

    def absent(self):
        stack = self.stack.read()
        return self._step(("absent", plan.absent_action(stack_status(stack))), None, stack)

    def already_gone(self, _config, _stack):
        return None

    def delete(self, _config, stack):
        self.actions.append("delete")
        self._set_diff({"cluster_name": self.name, "cluster_status": stack_status(stack)}, {})
        if self.check_mode:
            return self.reader.describe(self.name, stack)
        self.stack.delete()
        return self.deleted_elsewhere(None, stack)

    def deleted_elsewhere(self, _config, _stack):
        """A delete under way (this run's or another's) is not started again; waited for when asked."""
        if self.params["wait"] and not self.check_mode:
            return self.stack.await_end("delete")
        return self.reader.describe(self.name)

    # The outcomes of pcluster_plan.present_action and absent_action, by state: handlers called with (config, stack).
    STEPS = {
        ("present", "create"): create,
        ("present", "update"): update,
        ("present", "recreate"): recreate,
        ("present", "await"): in_transition,
        ("present", "await_deletion"): being_deleted,
        ("present", "fail_create_failed"): create_failed,
        ("present", "fail_stuck"): stuck,
        ("absent", "none"): already_gone,
        ("absent", "delete"): delete,
        ("absent", "await_deletion"): deleted_elsewhere,
    }


def load_config(module):
    """The configuration as a dict, from config or config_file; fails naming the option when it cannot be one."""
    config, path = module.params["config"], module.params["config_file"]
    if path is not None:
        if not HAS_YAML:
            module.fail_json(msg=missing_required_lib("PyYAML"))
        try:
            with open(path, encoding="utf-8") as stream:
                config = yaml.safe_load(stream)
        except OSError as error:
            module.fail_json(msg=f"config_file: cannot read {path}: {error.strerror}")
        except yaml.YAMLError as error:
            module.fail_json(msg=f"config_file: {path} is not valid YAML: {error}")
        if not isinstance(config, dict):
            module.fail_json(msg=f"config_file: {path} must hold a mapping (the cluster configuration), "
                                 f"not {type(config).__name__}")
    if not config:
        module.fail_json(msg="config: the cluster configuration is empty")
    return config


def check_request(module):
    """Everything that can be refused without AWS: the name, then the configuration against pcluster's schema."""
    config = load_config(module) if module.params["state"] == "present" else None
    error = cluster_name_error(module.params["name"], uses_slurm_accounting(config))
    if error:
        module.fail_json(msg=error)
    region = apply_aws_environment(module)
    if config is not None and module.params["validate_schema"]:
        try:
            lines = library.schema_errors(module.params["name"], config)
        except PclusterFailure as failure:
            module.fail_json(msg=failure.message, **failure.details)
        if lines:
            module.fail_json(msg="\n".join(["config: the cluster configuration is invalid:"] + lines), config_errors=lines)
    return config, region


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["cluster_name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        config=dict(type="dict"),
        config_file=dict(type="path"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        poll_interval=dict(type="float", default=15),
        rollback_on_failure=dict(type="bool", default=False),
        claim=dict(type="dict", options=dict(table=dict(type="str", required=True),
                                             subnet_id=dict(type="str", required=True))),
        validate_schema=dict(type="bool", default=True),
        suppress_validators=dict(type="list", elements="str"),
        validation_failure_level=dict(type="str", choices=["INFO", "WARNING", "ERROR"]),
        force_update=dict(type="bool", default=False),
        on_fleet_stop_required=dict(type="str", choices=list(plan.FLEET_STOP_POLICIES), default="fail"),
        on_create_failed=dict(type="str", choices=list(plan.CREATE_FAILED_POLICIES), default="fail"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("config", "config_file")],
        required_if=[("state", "present", ("config", "config_file"), True)],
        supports_check_mode=True,
    )
    config, region = check_request(module)
    run = ClusterRun(module, region)
    try:
        cluster = run.present(config) if module.params["state"] == "present" else run.absent()
    except PclusterFailure as failure:
        module.fail_json(msg=failure.message, **dict(run.result(None), **failure.details))
    except WaitTimeout as timeout:
        module.fail_json(msg=f"Cluster {run.name}: timed out after {module.params['wait_timeout']} s waiting for "
                             f"{timeout.phase}; last status {timeout.last}", **run.result(run.reader.describe(run.name)))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cluster {run.name}: AWS call failed", **run.result(None))
    if module.params["claim"] and module.params["state"] == "present" and not module.check_mode:
        check_claim(module, run, cluster)
    module.exit_json(**run.result(cluster))


def check_claim(module, run, cluster):
    """Fail with raced_delete when a delete of the cluster ran meanwhile: its mark is there, or the claim is gone."""
    claim = module.params["claim"]
    dynamodb = aws.client(module, "dynamodb")
    try:
        marker = sc.marker(dynamodb, claim["table"], run.name)
        held = sc.claims_of(dynamodb, claim["table"], run.name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cluster {run.name}: could not read its claim in {claim['table']}",
                             **run.result(cluster))
    found = held[0] if held else None
    if marker is not None or (found or {}).get("subnet_id") != claim["subnet_id"]:
        module.fail_json(msg=f"the claim of cluster {run.name} is gone or marked for deletion", raced_delete=True,
                         deletion_marker=marker, claim=found, **run.result(cluster))


if __name__ == "__main__":
    main()
