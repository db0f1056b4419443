"""Unit tests of plugins/module_utils/pcluster_plan.py: what pcluster_cluster decides from what it read."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest
from pcluster.api.controllers.cluster_operations_controller import _create_message
from pcluster.config import update_policy

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_plan as plan


@pytest.mark.parametrize("status, on_create_failed, action", [
    (None, "fail", "create"),
    ("CREATE_COMPLETE", "fail", "update"),
    ("UPDATE_COMPLETE", "fail", "update"),
    ("UPDATE_ROLLBACK_COMPLETE", "fail", "update"),  # a failed update leaves a working cluster
    ("CREATE_IN_PROGRESS", "fail", "await"),
    ("UPDATE_IN_PROGRESS", "recreate", "await"),
    ("ROLLBACK_IN_PROGRESS", "recreate", "await"),  # becomes a failed create: decided once it settles
    ("DELETE_IN_PROGRESS", "fail", "await_deletion"),
    ("CREATE_FAILED", "fail", "fail_create_failed"),
    ("ROLLBACK_COMPLETE", "fail", "fail_create_failed"),
    ("CREATE_FAILED", "recreate", "recreate"),
    ("ROLLBACK_FAILED", "recreate", "recreate"),
    ("DELETE_FAILED", "recreate", "fail_stuck"),
    ("UPDATE_ROLLBACK_FAILED", "fail", "fail_stuck"),
])
def test_present_action(status, on_create_failed, action):
    assert plan.present_action(status, on_create_failed) == action


@pytest.mark.parametrize("status, action", [
    (None, "none"), ("DELETE_IN_PROGRESS", "await_deletion"), ("CREATE_FAILED", "delete"),
    ("CREATE_IN_PROGRESS", "delete"), ("UPDATE_COMPLETE", "delete"), ("DELETE_FAILED", "delete"),
])
def test_absent_action_never_deletes_twice(status, action):
    assert plan.absent_action(status) == action


@pytest.mark.parametrize("goal, status, outcome", [
    ("create", "CREATE_IN_PROGRESS", "pending"),
    ("create", "CREATE_COMPLETE", "done"),
    ("create", "CREATE_FAILED", "failed"),
    ("create", "ROLLBACK_IN_PROGRESS", "pending"),
    ("create", "ROLLBACK_COMPLETE", "failed"),
    ("update", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "pending"),
    ("update", "UPDATE_COMPLETE", "done"),
    ("update", "UPDATE_ROLLBACK_COMPLETE", "failed"),
    ("delete", "DELETE_IN_PROGRESS", "pending"),
    ("delete", None, "done"),
    ("delete", plan.DELETED, "done"),
    ("delete", "DELETE_FAILED", "failed"),
    ("settle", "CREATE_FAILED", "done"),
    ("settle", None, "done"),
    ("settle", "UPDATE_IN_PROGRESS", "pending"),
])
def test_wait_outcome(goal, status, outcome):
    assert plan.wait_outcome(goal, status) == outcome


def pcluster_error(reason, action):
    """An update validation error as pcluster's update_cluster builds it (reason. action)."""
    return {"parameter": "Scheduling.SlurmQueues[q].ComputeResources[c].InstanceType", "current_value": "t3.micro",
            "requested_value": "t3.small", "message": _create_message(reason, action)}


FLEET_STOP_ERRORS = [  # reasons pcluster 3.16 gives where stopping the compute fleet lets the update through
    pcluster_error(update_policy.UpdatePolicy.COMPUTE_FLEET_STOP.fail_reason,
                   update_policy.UpdatePolicy.ACTIONS_NEEDED["pcluster_stop"](None, None)),
    pcluster_error(update_policy.fail_reason_resize_update_strategy_on_remove(),
                   update_policy.actions_needed_resize_update_strategy_on_remove()),
    pcluster_error(update_policy.UpdatePolicy.COMPUTE_FLEET_STOP_ON_REMOVE.fail_reason, None),
]
OTHER_ERRORS = [  # reasons a stopped fleet does not remove
    pcluster_error(update_policy.UpdatePolicy.HEAD_NODE_STOP.fail_reason, None),
    pcluster_error(update_policy.UpdatePolicy.UNKNOWN.fail_reason, update_policy.UpdatePolicy.UNKNOWN.action_needed),
    pcluster_error(update_policy.UpdatePolicy.FAIL_REASONS["login_nodes_running"](None, None), None),
    pcluster_error("All compute nodes must be stopped or QueueUpdateStrategy must be set. All login nodes must be stopped", None),
]


@pytest.mark.parametrize("error", FLEET_STOP_ERRORS)
def test_fleet_stop_resolves_pcluster_fleet_reasons(error):
    assert plan.fleet_stop_resolves([error])


@pytest.mark.parametrize("error", OTHER_ERRORS)
def test_fleet_stop_does_not_resolve_other_reasons(error):
    assert not plan.fleet_stop_resolves([error])
    assert not plan.fleet_stop_resolves(FLEET_STOP_ERRORS + [error])  # one other reason is enough to refuse


def test_fleet_stop_needs_a_reason():
    assert not plan.fleet_stop_resolves([])


def test_fleet_actions_by_policy():
    assert plan.fleet_actions("fail") == []
    assert plan.fleet_actions("stop") == ["stop_compute_fleet"]
    assert plan.fleet_actions("stop_and_start") == ["stop_compute_fleet", "start_compute_fleet"]


def test_change_set_becomes_the_diff():
    change_set = [{"parameter": "Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount", "current_value": "4",
                   "requested_value": "10"},
                  {"parameter": "Scheduling.SlurmQueues[new]", "current_value": "-", "requested_value": "{'Name': 'new'}"}]
    assert plan.change_set_diff(change_set) == {
        "before": {"Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount": "4", "Scheduling.SlurmQueues[new]": "-"},
        "after": {"Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount": "10",
                  "Scheduling.SlurmQueues[new]": "{'Name': 'new'}"},
    }


def test_descriptions_for_messages():
    assert plan.describe_update_errors([FLEET_STOP_ERRORS[0]]) == [
        "Scheduling.SlurmQueues[q].ComputeResources[c].InstanceType (t3.micro -> t3.small): All compute nodes must be "
        "stopped. Stop the compute fleet with the pcluster update-compute-fleet command"]
    event = {"timestamp": "2025-01-01T00:00:00.000Z", "logical_resource_id": "HeadNodeWaitCondition",
             "resource_type": "AWS::CloudFormation::WaitCondition", "resource_status": "CREATE_FAILED",
             "resource_status_reason": "Failed to execute OnNodeConfigured script"}
    assert plan.describe_failed_events([event]) == [
        "2025-01-01T00:00:00.000Z HeadNodeWaitCondition (AWS::CloudFormation::WaitCondition) CREATE_FAILED: "
        "Failed to execute OnNodeConfigured script"]
