# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pcluster_cluster module's decisions, as pure functions of what it has read (unit-tested one by one)."""

# Stack statuses of a cluster whose creation failed (pcluster maps them all to cluster status CREATE_FAILED).
CREATE_FAILED_STACK_STATUSES = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
# Stack statuses that nothing but a person can get out of: no create, update or delete can proceed from them
# through pcluster (DELETE_FAILED needs the blocking resources removed; UPDATE_ROLLBACK_FAILED a continued rollback).
STUCK_STACK_STATUSES = ("DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
GONE = None  # the status of a stack that no longer exists
DELETED = "DELETE_COMPLETE"  # how CloudFormation reports it (to a caller who knows its id), and the progress shows it
SUCCESS = {"create": ("CREATE_COMPLETE",), "update": ("UPDATE_COMPLETE",), "delete": (GONE, DELETED)}

FLEET_SETTLED_STATUSES = ("RUNNING", "STOPPED", "PROTECTED")
# pcluster's update validation fails with these reasons when a change needs the compute fleet stopped
# (pcluster.config.update_policy: COMPUTE_FLEET_STOP, QUEUE_UPDATE_STRATEGY, RESIZE_UPDATE_STRATEGY_ON_REMOVE, ...).
FLEET_STOP_REASON = "All compute nodes must be stopped"

FLEET_STOP_POLICIES = ("fail", "stop", "stop_and_start")
CREATE_FAILED_POLICIES = ("fail", "recreate")


def is_transitional(stack_status):
    return stack_status is not GONE and stack_status.endswith("_IN_PROGRESS")


def present_action(stack_status, on_create_failed):
    """What state=present does with a cluster whose stack is in ``stack_status`` (None: no stack).

    create, update, recreate (delete, then create), await (another operation is running: wait for it, then decide
    again), await_deletion (wait until it is gone, then create), fail_create_failed, fail_stuck.
    """
    if stack_status is GONE:
        return "create"
    if stack_status == "DELETE_IN_PROGRESS":
        return "await_deletion"
    if is_transitional(stack_status):
        return "await"
    if stack_status in CREATE_FAILED_STACK_STATUSES:
        return "recreate" if on_create_failed == "recreate" else "fail_create_failed"
    if stack_status in STUCK_STACK_STATUSES:
        return "fail_stuck"
    return "update"


def absent_action(stack_status):
    """none (nothing there), await_deletion (already being deleted: never delete twice) or delete."""
    if stack_status is GONE:
        return "none"
    if stack_status == "DELETE_IN_PROGRESS":
        return "await_deletion"
    return "delete"


def wait_outcome(goal, stack_status):
    """pending while the stack is in transition, then done (the goal's success) or failed.

    goal is create, update or delete, or settle (any end of someone else's operation will do).
    """
    if is_transitional(stack_status):
        return "pending"
    if goal == "settle" or stack_status in SUCCESS[goal]:
        return "done"
    return "failed"


def fleet_stop_resolves(update_errors):
    """True when every reason pcluster gives for refusing the update is a running compute fleet.

    Then stopping the fleet lets the update through; any other reason (an unsupported change, running login
    nodes, a cookbook change that also needs force_update) would still refuse it, so the fleet is left alone.
    """
    messages = [error.get("message") or "" for error in update_errors]
    return bool(messages) and all(m.startswith(FLEET_STOP_REASON) and "login nodes" not in m for m in messages)


def fleet_actions(policy):
    """The compute fleet steps around an update that needs the fleet stopped, by on_fleet_stop_required."""
    return {"stop": ["stop_compute_fleet"], "stop_and_start": ["stop_compute_fleet", "start_compute_fleet"]}.get(policy, [])


def change_set_diff(change_set):
    """Ansible's diff of an update: each changed parameter's current and requested value."""
    return {
        "before": {change["parameter"]: change.get("current_value") for change in change_set},
        "after": {change["parameter"]: change.get("requested_value") for change in change_set},
    }


def describe_update_errors(update_errors):
    return [f"{e.get('parameter')} ({e.get('current_value')} -> {e.get('requested_value')}): {e.get('message')}"
            for e in update_errors]


def describe_failed_events(events):
    return [f"{e.get('timestamp')} {e.get('logical_resource_id')} ({e.get('resource_type')}) {e.get('resource_status')}: "
            f"{e.get('resource_status_reason')}" for e in events]
