"""Gaps 6 and 8, the stack timings and the CREATE_FAILED fault: CloudFormation stacks as pcluster sees them.

- 6: a parent template reads its nested stacks' outputs with ``Fn::GetAtt [Nested, Outputs.Key]``;
  moto's Stack has no ``get_cfn_attribute`` ("'Stack' object has no attribute 'get_cfn_attribute'").
- 8: moto deletes a stack within DeleteStack, but pcluster describes it right after and expects
  DELETE_IN_PROGRESS ("Cluster ... does not exist or belongs to an incompatible ParallelCluster major
  version"). Here the stack stays DELETE_IN_PROGRESS for ``stack_delete_seconds``, then is gone.
- moto updates a nested stack by deleting and re-creating it, so its named resources (pcluster's
  launch templates) collide with the ones still being deleted ("Launch template name already in use");
  AWS updates a nested stack in place.
- Creation and update stay *_IN_PROGRESS for ``stack_create_seconds``/``stack_update_seconds``, so that
  callers' waiting is exercised. A queued ``stack_create_failed`` fault makes the next cluster stack end
  in CREATE_FAILED, with its head node wait condition failed as on AWS (pcluster reads the reason from
  that event), or in ROLLBACK_COMPLETE when the caller did not disable rollback.

Transitions are settled lazily, at the start of every CloudFormation backend call, so no thread runs
and no stack map changes while moto iterates over it.
"""

import dataclasses
import functools
import threading

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import get_stack_from_s3_url
from moto.utilities.utils import get_partition

from .. import state

CLUSTER_STACK_TAG = "parallelcluster:version"  # pcluster tags the cluster's top-level stack with it
DEFAULT_FAILURE_REASON = "Failed to execute OnNodeConfigured script (emulated fault: stack_create_failed)"


@dataclasses.dataclass
class Transition:
    deadline: float
    finish: object  # callable run once the deadline has passed


_transitions = {}  # stack id -> Transition
_lock = threading.RLock()
_request = threading.local()  # the CreateStack request being served on this thread: its rollback choice


def _schedule(stack, seconds, finish):
    with _lock:
        _transitions[stack.stack_id] = Transition(state.now() + seconds, finish)


def settle():
    """Finish every transition whose time has come."""
    with _lock:
        due = [stack_id for stack_id, transition in _transitions.items() if transition.deadline <= state.now()]
        for stack_id in due:
            _transitions.pop(stack_id).finish()


def _settling(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        settle()
        return method(*args, **kwargs)

    return wrapper


def _stack_attribute(self, attribute_name):
    if attribute_name.startswith("Outputs."):
        output = self.output_map.get(attribute_name[len("Outputs."):])
        if output is not None:
            return output.value
    raise UnformattedGetAttTemplateException()


def _resource_event(stack, logical_id, resource_type, status, reason):
    stack.events.append(Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                              physical_resource_id=None, resource_type=resource_type, resource_status=status,
                              resource_status_reason=reason, resource_properties=None))


def _fail_creation(stack, reason):
    wait_conditions = [logical_id for logical_id, resource in stack.resource_map.items()
                       if getattr(resource, "cf_resource_type", "") == "AWS::CloudFormation::WaitCondition"]
    failed = wait_conditions[0] if wait_conditions else "HeadNodeWaitCondition"
    _resource_event(stack, failed, "AWS::CloudFormation::WaitCondition", "CREATE_FAILED", reason)
    summary = f"The following resource(s) failed to create: [{failed}]. "
    if stack.disable_rollback:
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=summary)  # pylint: disable=protected-access
    else:
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=summary)  # pylint: disable=protected-access
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")  # pylint: disable=protected-access


def _hold(stack, in_progress, seconds, finish):
    """Put back the *_IN_PROGRESS status moto skipped, and finish later."""
    stack.events.pop()  # moto's *_COMPLETE event: added again when the transition finishes
    stack.status = in_progress
    _schedule(stack, seconds, finish)


_stock_create_resources = Stack.create_resources


def _create_resources(self):
    self.disable_rollback = getattr(_request, "disable_rollback", False)
    _stock_create_resources(self)
    if self.status != "CREATE_COMPLETE":
        return
    fault = state.take_fault("stack_create_failed") if CLUSTER_STACK_TAG in (self.tags or {}) else None
    seconds = state.setting("stack_create_seconds")
    if fault is not None:
        _hold(self, "CREATE_IN_PROGRESS", seconds,
              lambda: _fail_creation(self, fault.get("reason") or DEFAULT_FAILURE_REASON))
    elif seconds > 0:
        _hold(self, "CREATE_IN_PROGRESS", seconds, self.mark_creation_complete)


_stock_update = Stack.update


def _update(self, *args, **kwargs):
    _stock_update(self, *args, **kwargs)
    seconds = state.setting("stack_update_seconds")
    if seconds > 0:
        def finish():
            self.status = "UPDATE_COMPLETE"
            self._add_stack_event("UPDATE_COMPLETE")  # pylint: disable=protected-access

        _hold(self, "UPDATE_IN_PROGRESS", seconds, finish)


def _update_nested_stack(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # pylint: disable=unused-argument
    properties = cloudformation_json["Properties"]
    template = get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id,
                                     partition=get_partition(region_name))
    original_resource.update(template, parameters=properties.get("Parameters", {}))
    return original_resource


_stock_delete_stack = CloudFormationBackend.delete_stack


def _delete_stack(self, name_or_stack_id):
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None or stack.status == "DELETE_IN_PROGRESS":
        return  # AWS: deleting a missing or already deleting stack succeeds and changes nothing
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")  # pylint: disable=protected-access
    stack.status = "DELETE_IN_PROGRESS"

    def finish():
        events_before = len(stack.events)
        _stock_delete_stack(self, stack.stack_id)
        del stack.events[events_before]  # moto's own DELETE_IN_PROGRESS event repeats the one above

    _schedule(stack, state.setting("stack_delete_seconds"), finish)


_stock_create_stack_response = CloudFormationResponse.create_stack


def _create_stack_response(self):
    """Hand the caller's rollback choice (pcluster's rollback_on_failure), which moto ignores, to the new stack."""
    disable_rollback = str(self._get_param("DisableRollback", "false")).lower() == "true"  # pylint: disable=protected-access
    _request.disable_rollback = disable_rollback or self._get_param("OnFailure") == "DO_NOTHING"  # pylint: disable=protected-access
    try:
        return _stock_create_stack_response(self)
    finally:
        _request.disable_rollback = False


def install():
    Stack.get_cfn_attribute = _stack_attribute
    Stack.create_resources = _create_resources
    Stack.update = _update
    Stack.update_from_cloudformation_json = classmethod(_update_nested_stack)
    CloudFormationBackend.delete_stack = _delete_stack
    CloudFormationResponse.create_stack = _create_stack_response
    for name, member in list(vars(CloudFormationBackend).items()):
        if callable(member) and not name.startswith("_"):
            setattr(CloudFormationBackend, name, _settling(member))
