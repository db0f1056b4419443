"""Gaps 6 and 8, stack timings, the CREATE_FAILED fault, failed resources: CloudFormation stacks as pcluster sees them.

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
- A resource that moto cannot make (an exception in its model, or an unknown type that another one reads)
  made CreateStack fail but left the stack registered with resources still unmade, which moto then tried to
  make whenever DescribeStacks read the outputs: every DescribeStacks failed (HTTP 500) until a restart.
  Here the stack fails as on AWS: the resource's CREATE_FAILED event carries the error, the stack ends in
  CREATE_FAILED or, after deleting what it made, ROLLBACK_COMPLETE; it makes nothing more and shows no
  outputs. A nested stack that fails fails its parent's resource ("Embedded stack ... was not successfully
  created"). A failed update is refused (ValidationError) and leaves the resources made so far.
- moto forgets a resource whose type it cannot update when a stack update changes it, so DeleteStack left it
  behind; here the stack keeps it, unchanged.

Transitions are settled lazily, at the start of every CloudFormation backend call, so no thread runs
and no stack map changes while moto iterates over it. Each due transition is taken out of the schedule before any
of them finishes, and a finish's own backend calls settle nothing: a parent stack's deletion deletes its nested
stacks through the backend's (settling) DeleteStack, which re-entered the settling loop and finished the other due
transitions, so the loop then popped a transition already gone (KeyError, an HTTP 500 to whichever request happened
to settle; seen with 10 concurrent cluster deletes). A nested stack deleted as its parent's resource is deleted at
once: its parent's hold was its own. A finish that fails does not fail the request that settled it: it is logged
and counted in the request log's ``internal_errors`` (an emulator defect) unless it is a service's own error (a
DependencyViolation); a deletion that fails leaves the stack in DELETE_FAILED with the error as its reason, as on
AWS, so that DeleteStack can be tried again.
"""

import contextlib
import dataclasses
import functools
import logging
import threading

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import get_stack_from_s3_url
from moto.core.exceptions import ServiceException, _RESTError  # pylint: disable=protected-access  # moto's error bases
from moto.utilities.utils import get_partition

from .. import state

LOG = logging.getLogger(__name__)
_SERVICE_ERRORS = (ServiceException, _RESTError)  # what a service answers a caller with, as AWS would
CLUSTER_STACK_TAG = "parallelcluster:version"  # pcluster tags the cluster's top-level stack with it
DEFAULT_FAILURE_REASON = "Failed to execute OnNodeConfigured script (emulated fault: stack_create_failed)"


@dataclasses.dataclass
class Transition:
    deadline: float
    finish: object  # callable run once the deadline has passed
    operation: str = "stack transition"  # the call that started it, as internal_errors names a failed finish
    failed: object = None  # callable(error): the state AWS leaves the stack in when the finish fails


_transitions = {}  # stack id -> Transition
_lock = threading.RLock()
# The CreateStack request being served on this thread: its rollback choice, and how deep in nested
# resource creation it is (a stack created at depth > 0 is another stack's resource). Also whether this thread is
# settling transitions, and how deep it is in deleting a stack's resources.
_request = threading.local()


class ResourceCreationFailed(Exception):
    """A resource of a stack could not be made. Not a KeyError: moto's ``resources_map.get()`` takes a KeyError
    for a resource missing from the template ("Fn::GetAtt references undefined resource ...")."""

    def __init__(self, logical_id, resource_type, reason):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


class EmbeddedStackFailed(Exception):
    """A nested stack failed; its parent's resource fails with it."""

    def __init__(self, stack, reason):
        super().__init__(reason)
        self.stack, self.reason = stack, reason


def _reason(error):
    """An exception as a CloudFormation status reason: the service's code and message when it has them."""
    message = getattr(error, "message", None)
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    if not message:
        return f"{type(error).__name__}: {error}"
    return f"{code}: {message}" if isinstance(code, str) else message


def _schedule(stack, seconds, finish, operation="stack transition", failed=None):
    with _lock:
        _transitions[stack.stack_id] = Transition(state.now() + seconds, finish, operation, failed)


def settle():
    """Finish, once each and in deadline order, every transition whose time has come.

    Called again from within a finish (which calls the backend's settling methods), it does nothing: the due
    transitions are already out of the schedule, and the ones that come due meanwhile wait for the next call.
    """
    if getattr(_request, "settling", False):
        return
    with _lock:
        now = state.now()
        due = sorted((transition.deadline, stack_id) for stack_id, transition in _transitions.items()
                     if transition.deadline <= now)
        transitions = [_transitions.pop(stack_id) for _deadline, stack_id in due]
        _request.settling = True
        try:
            for transition in transitions:
                _finish(transition)
        finally:
            _request.settling = False


def _finish(transition):
    """Run one finish. A failure is not the settling request's: the stack takes the state AWS gives it, and unless it
    is a service's own refusal (a DependencyViolation, as on AWS) it is an emulator defect, logged and counted."""
    try:
        transition.finish()
    except Exception as error:  # pylint: disable=broad-exception-caught  # whatever failed, the request that settled goes on
        if not isinstance(error, _SERVICE_ERRORS):
            LOG.exception("emulator: finishing %s failed", transition.operation)
            state.record_internal_error("cloudformation", f"{transition.operation} (finished later)")
        if transition.failed is not None:
            transition.failed(error)


@contextlib.contextmanager
def _deleting_resources():
    """While a stack's resources are deleted on this thread: a nested stack among them is deleted at once."""
    _request.deleting = getattr(_request, "deleting", 0) + 1
    try:
        yield
    finally:
        _request.deleting -= 1


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


def _summary(logical_id):
    return f"The following resource(s) failed to create: [{logical_id}]. "


def _keep_made_resources(stack):
    """From now on the stack holds only the resources it has made: moto makes the others lazily, as soon as
    anything (DescribeStacks reading outputs, DescribeStackResources) reads them. A failed stack has no outputs."""
    resource_map = stack.resource_map
    made = resource_map._parsed_resources  # pylint: disable=protected-access
    resource_map._resource_json_map = {  # pylint: disable=protected-access
        logical_id: definition for logical_id, definition in resource_map._resource_json_map.items()  # pylint: disable=protected-access
        if logical_id in made}
    stack.output_map = parsing.OutputMap(resource_map, {}, stack.stack_id)


def _fail_creation(stack, failed, resource_type, reason):
    """The events and status of a creation that failed on resource ``failed``; a rollback deletes what was made."""
    _resource_event(stack, failed, resource_type, "CREATE_FAILED", reason)
    stack.status_reason = _summary(failed)  # DescribeStacks' StackStatusReason
    if stack.disable_rollback:
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=_summary(failed))  # pylint: disable=protected-access
        return
    stack._add_stack_event("ROLLBACK_IN_PROGRESS",  # pylint: disable=protected-access
                           resource_status_reason=_summary(failed) + "Rollback requested by user.")
    try:
        with _deleting_resources():
            stack.resource_map.delete()
    except Exception as error:  # pylint: disable=broad-exception-caught  # any resource moto cannot delete
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=_reason(error))  # pylint: disable=protected-access
    else:
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")  # pylint: disable=protected-access
    finally:
        _keep_made_resources(stack)


def _fail_head_node(stack, reason):
    """The stack_create_failed fault: the head node's wait condition fails, as a failed node bootstrap does."""
    wait_conditions = [logical_id for logical_id, resource in stack.resource_map.items()
                       if getattr(resource, "cf_resource_type", "") == "AWS::CloudFormation::WaitCondition"]
    failed = wait_conditions[0] if wait_conditions else "HeadNodeWaitCondition"
    _fail_creation(stack, failed, "AWS::CloudFormation::WaitCondition", reason)


def _hold(stack, in_progress, seconds, finish):
    """Put back the *_IN_PROGRESS status moto skipped, and finish later."""
    stack.events.pop()  # moto's *_COMPLETE event: added again when the transition finishes
    stack.status = in_progress
    _schedule(stack, seconds, finish, "CreateStack" if in_progress.startswith("CREATE") else "UpdateStack")


_stock_create_resources = Stack.create_resources


def _create_resources(self):
    self.disable_rollback = getattr(_request, "disable_rollback", False)
    nested = getattr(_request, "depth", 0) > 0
    try:
        _stock_create_resources(self)
    except Exception as error:  # pylint: disable=broad-exception-caught  # whatever moto raised, the stack fails
        failure = error if isinstance(error, ResourceCreationFailed) else ResourceCreationFailed(
            self.name, "AWS::CloudFormation::Stack", _reason(error))
        _keep_made_resources(self)
        self.status = "CREATE_IN_PROGRESS"

        def finish():
            _fail_creation(self, failure.logical_id, failure.resource_type, failure.reason)

        seconds = state.setting("stack_create_seconds")
        if nested:  # the parent fails now, with this stack as its failed resource
            finish()
            raise EmbeddedStackFailed(self, _summary(failure.logical_id)) from error
        if seconds > 0:
            _schedule(self, seconds, finish, "CreateStack")
        else:
            finish()
        return
    if self.status != "CREATE_COMPLETE":
        return
    fault = state.take_fault("stack_create_failed") if CLUSTER_STACK_TAG in (self.tags or {}) else None
    seconds = state.setting("stack_create_seconds")
    if fault is not None:
        _hold(self, "CREATE_IN_PROGRESS", seconds,
              lambda: _fail_head_node(self, fault.get("reason") or DEFAULT_FAILURE_REASON))
    elif seconds > 0:
        _hold(self, "CREATE_IN_PROGRESS", seconds, self.mark_creation_complete)


_stock_parse_and_create_resource = parsing.parse_and_create_resource


def _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """Make one resource; any error becomes this resource's failure, unless it is a dependency's failure."""
    _request.depth = getattr(_request, "depth", 0) + 1
    try:
        return _stock_parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    except ResourceCreationFailed:
        raise  # a resource that this one references failed first: that one is the failed resource
    except EmbeddedStackFailed as failure:
        nested = failure.stack  # kept as this stack's resource, so that its rollback or delete deletes it
        nested.cf_resource_type, nested.logical_resource_id = resource_json["Type"], logical_id
        resources_map._parsed_resources[logical_id] = nested  # pylint: disable=protected-access
        raise ResourceCreationFailed(logical_id, resource_json["Type"], f"Embedded stack {nested.stack_id} was not "
                                     f"successfully created: {failure.reason}") from failure
    except Exception as error:
        raise ResourceCreationFailed(logical_id, resource_json["Type"], _reason(error)) from error
    finally:
        _request.depth -= 1


_stock_parse_and_update_resource = parsing.parse_and_update_resource


def _parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """moto answers None for a resource it cannot update, and the stack forgets it: keep it, unchanged."""
    updated = _stock_parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
    return resources_map._parsed_resources.get(logical_id) if updated is None else updated  # pylint: disable=protected-access


_stock_update = Stack.update


def _update(self, *args, **kwargs):
    try:
        _stock_update(self, *args, **kwargs)
    except ValidationError:  # moto's own refusal, or a nested stack's failed update
        _keep_made_resources_after_update(self)
        raise
    except Exception as error:
        _keep_made_resources_after_update(self)
        raise ValidationError(message=f"Stack update failed: {_reason(error)}") from error
    seconds = state.setting("stack_update_seconds")
    if seconds > 0:
        def finish():
            self.status = "UPDATE_COMPLETE"
            self._add_stack_event("UPDATE_COMPLETE")  # pylint: disable=protected-access

        _hold(self, "UPDATE_IN_PROGRESS", seconds, finish)


def _keep_made_resources_after_update(stack):
    """As _keep_made_resources, but the outputs stay those of the stack before the update."""
    output_map = stack.output_map
    _keep_made_resources(stack)
    stack.output_map = output_map


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
        with _deleting_resources():
            _stock_delete_stack(self, stack.stack_id)
        del stack.events[events_before]  # moto's own DELETE_IN_PROGRESS event repeats the one above

    def failed(error):
        """As on AWS: the stack stays, in DELETE_FAILED, with what it still holds (moto took it out of its map first)."""
        self.stacks[stack.stack_id] = stack
        stack.status = "DELETE_FAILED"
        stack.status_reason = _reason(error)
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=_reason(error))  # pylint: disable=protected-access

    if getattr(_request, "deleting", 0):  # another stack's resource: deleted within its parent's deletion
        try:
            finish()
        except Exception as error:
            failed(error)
            raise  # the parent's resource fails, and with it the parent's deletion
        return
    _schedule(stack, state.setting("stack_delete_seconds"), finish, "DeleteStack", failed)


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
    # ResourceMap calls these module functions by their global names.
    parsing.parse_and_create_resource = _parse_and_create_resource
    parsing.parse_and_update_resource = _parse_and_update_resource
    CloudFormationBackend.delete_stack = _delete_stack
    CloudFormationResponse.create_stack = _create_stack_response
    for name, member in list(vars(CloudFormationBackend).items()):
        if callable(member) and not name.startswith("_"):
            setattr(CloudFormationBackend, name, _settling(member))
