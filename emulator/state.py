"""Process-wide emulator state: timing settings, fault switches and the request log.

Everything here is read and written from the server's request threads, so every
mutation holds ``_LOCK``. The control endpoint (``control.py``) is the only writer
outside the emulator's own fills.
"""

import collections
import random
import threading
import time

_LOCK = threading.Lock()

# Seconds a resource stays in its transitional state. Overridable at start-up
# (``--delay name=seconds``) and at run time (``POST /_emulator/settings``).
DEFAULT_SETTINGS = {
    "stack_create_seconds": 0.0,  # CREATE_IN_PROGRESS before CREATE_COMPLETE/CREATE_FAILED
    "stack_update_seconds": 0.0,  # UPDATE_IN_PROGRESS before UPDATE_COMPLETE
    "stack_delete_seconds": 1.0,  # DELETE_IN_PROGRESS before the stack is gone (pcluster re-describes)
    "fleet_transition_seconds": 0.5,  # compute fleet STOP_REQUESTED -> STOPPED, START_REQUESTED -> RUNNING
    "dra_create_seconds": 1.0,  # data repository association CREATING -> AVAILABLE
    "dra_update_seconds": 0.5,  # UPDATING -> AVAILABLE
    "dra_delete_seconds": 1.0,  # DELETING -> gone
}

_settings = dict(DEFAULT_SETTINGS)
_throttle = {}  # service signing name ("ec2", "fsx", "*") -> fraction of calls refused
_pending_faults = collections.defaultdict(collections.deque)  # fault name -> queued fault payloads
_request_counts = collections.Counter()  # (service, operation, "read"|"write") -> calls
_throttled = 0  # requests answered with a throttling error
_internal_errors = collections.Counter()  # (service, operation) -> HTTP 500s answered, failed deferred steps
_stored_secrets = set()  # every secret value stored in Secrets Manager or SSM (SecureString), for output scans
_random = random.Random()

# Faults that can be queued: payload key -> allowed values (None: any string).
FAULTS = {
    "stack_create_failed": {"reason": None},
    "dra_failed": {"lifecycle": ("FAILED", "MISCONFIGURED"), "message": None},
}


def setting(name):
    """Current value of one timing setting, in seconds."""
    with _LOCK:
        return _settings[name]


def settings():
    with _LOCK:
        return dict(_settings)


def update_settings(values):
    """Set timing settings; unknown names or negative values raise ValueError naming them."""
    unknown = sorted(set(values) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(DEFAULT_SETTINGS)}")
    parsed = {}
    for name, value in values.items():
        seconds = float(value)
        if seconds < 0:
            raise ValueError(f"setting {name} must be >= 0, got {value}")
        parsed[name] = seconds
    with _LOCK:
        _settings.update(parsed)
    return settings()


def set_throttle(service, fraction):
    """Refuse ``fraction`` (0..1) of the calls to ``service`` ('*' for all) with a throttling error."""
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"throttle fraction must be between 0 and 1, got {fraction}")
    with _LOCK:
        if fraction == 0.0:
            _throttle.pop(service, None)
        else:
            _throttle[service] = fraction


def throttles():
    with _LOCK:
        return dict(_throttle)


def should_throttle(service):
    with _LOCK:
        fraction = _throttle.get(service, _throttle.get("*", 0.0))
        return fraction > 0.0 and _random.random() < fraction


def queue_fault(name, payload):
    """Queue a one-shot fault; the next resource of that kind consumes it."""
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; allowed: {sorted(FAULTS)}")
    unknown = sorted(set(payload) - set(FAULTS[name]))
    if unknown:
        raise ValueError(f"fault {name} takes {sorted(FAULTS[name])}, not {unknown}")
    for key, value in payload.items():
        allowed = FAULTS[name][key]
        if allowed is not None and value not in allowed:
            raise ValueError(f"fault {name}: {key} must be one of {list(allowed)}, got {value!r}")
    with _LOCK:
        _pending_faults[name].append(dict(payload))


def take_fault(name):
    """Pop the oldest queued fault of that kind, or None."""
    with _LOCK:
        queue = _pending_faults.get(name)
        return queue.popleft() if queue else None


def pending_faults():
    with _LOCK:
        return {name: list(queue) for name, queue in _pending_faults.items() if queue}


def record_request(service, operation, kind):
    with _LOCK:
        _request_counts[(service, operation, kind)] += 1


def record_throttled():
    """One request answered with a throttling error (counted besides its call, which the client will retry)."""
    global _throttled  # pylint: disable=global-statement
    with _LOCK:
        _throttled += 1


def record_internal_error(service, operation):
    """One HTTP 500 the emulator answered, whatever layer failed (moto, a fill, the middleware, the control endpoint,
    werkzeug), or a step a fill deferred that failed (a stack transition settled later): an emulator defect, never an
    AWS answer."""
    with _LOCK:
        _internal_errors[(service, operation)] += 1


def request_log():
    """Calls per service and operation, with totals of reads and writes."""
    with _LOCK:
        counts, throttled, failed = dict(_request_counts), _throttled, dict(_internal_errors)
    calls = [
        {"service": service, "operation": operation, "kind": kind, "count": count}
        for (service, operation, kind), count in sorted(counts.items())
    ]
    return {
        "calls": calls,
        "reads": sum(c["count"] for c in calls if c["kind"] == "read"),
        "writes": sum(c["count"] for c in calls if c["kind"] == "write"),
        "throttled": throttled,
        "internal_errors": [{"service": service, "operation": operation, "count": count}
                            for (service, operation), count in sorted(failed.items())],
    }


def record_secret(value):
    """A secret value a client stored; kept for the whole run (even after its secret is deleted) for output scans."""
    with _LOCK:
        _stored_secrets.add(value)


def stored_secrets():
    with _LOCK:
        return sorted(_stored_secrets)


def reset_request_log():
    global _throttled  # pylint: disable=global-statement
    with _LOCK:
        _request_counts.clear()
        _internal_errors.clear()
        _throttled = 0


def reset_faults():
    with _LOCK:
        _throttle.clear()
        _pending_faults.clear()
        _settings.clear()
        _settings.update(DEFAULT_SETTINGS)


def now():
    """Monotonic clock used for every transitional state (patched in unit tests if needed)."""
    return time.monotonic()
