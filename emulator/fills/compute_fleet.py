"""Gap 10: the compute fleet status that the head node keeps in DynamoDB.

On AWS the head node, once booted, writes ``{Id: COMPUTE_FLEET, Data: {status: RUNNING, ...}}`` into the
table ``parallelcluster-<cluster>``, and its daemons move STOP_REQUESTED -> STOPPING -> STOPPED and
START_REQUESTED -> STARTING -> RUNNING. No head node boots here, so pcluster's update_compute_fleet fails
("Could not retrieve compute fleet status."). The emulator plays the head node's part when the item is
read: each step takes ``fleet_transition_seconds``, counted from the item's lastStatusUpdatedTime.
"""

from datetime import datetime, timezone

from moto.dynamodb.models import DynamoDBBackend

from .. import state

TABLE_PREFIX = "parallelcluster-"
FLEET_KEY = "COMPUTE_FLEET"
BOOTED_STACK_STATUSES = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"}
NEXT_STATUS = {"STOP_REQUESTED": "STOPPING", "STOPPING": "STOPPED", "START_REQUESTED": "STARTING",
               "STARTING": "RUNNING"}


def _cluster_booted(account_id, region_name, cluster_name):
    # Imported here: loading CloudFormation's models costs a second, and only cluster tables need them.
    from moto.cloudformation.models import cloudformation_backends  # pylint: disable=import-outside-toplevel

    backend = cloudformation_backends[account_id][region_name]
    stacks = [s for s in backend.stacks.values() if s.name == cluster_name]
    return any(stack.status in BOOTED_STACK_STATUSES for stack in stacks)


def _now_text():
    return str(datetime.now(tz=timezone.utc))


def _fleet_data(status):
    return {"M": {"status": {"S": status}, "lastStatusUpdatedTime": {"S": _now_text()}}}


def _advance(item_data):
    """The fleet's data after the head node's daemons have had their time; None when unchanged."""
    data = item_data["M"]
    status = data["status"]["S"]
    updated = datetime.fromisoformat(data["lastStatusUpdatedTime"]["S"])
    elapsed = (datetime.now(tz=timezone.utc) - updated).total_seconds()
    step = state.setting("fleet_transition_seconds")
    changed = False
    while status in NEXT_STATUS and elapsed >= step:
        status, elapsed, changed = NEXT_STATUS[status], elapsed - step, True
    return _fleet_data(status) if changed else None


def play_head_node(backend, table_name):
    """Write or advance the COMPUTE_FLEET item as the cluster's head node would have by now."""
    if not table_name.startswith(TABLE_PREFIX) or table_name not in backend.tables:
        return
    key = {"Id": {"S": FLEET_KEY}}
    item = _stock_get_item(backend, table_name, key)
    if item is None:
        cluster_name = table_name[len(TABLE_PREFIX):]
        if _cluster_booted(backend.account_id, backend.region_name, cluster_name):
            backend.put_item(table_name, dict(key, Data=_fleet_data("RUNNING")))
        return
    data = item.to_json()["Attributes"].get("Data")
    if data and "M" in data and "status" in data["M"]:
        advanced = _advance(data)
        if advanced is not None:
            backend.put_item(table_name, dict(key, Data=advanced))


_stock_get_item = DynamoDBBackend.get_item


def _head_node_first(method):
    def wrapper(self, table_name, *args, **kwargs):
        play_head_node(self, table_name)
        return method(self, table_name, *args, **kwargs)

    wrapper.__name__ = method.__name__
    return wrapper


def install():
    for name in ("get_item", "update_item"):
        setattr(DynamoDBBackend, name, _head_node_first(getattr(DynamoDBBackend, name)))
