"""The emulator's HTTP control endpoint, under /_emulator/.

GET    /_emulator/health            -> {"status": "ok"}
GET    /_emulator/requests          -> request log: calls per service/operation, reads, writes, throttled,
                                       internal_errors (every HTTP 500 answered, whatever layer failed, and
                                       deferred steps that failed)
DELETE /_emulator/requests          -> reset the request log
GET    /_emulator/settings          -> timing settings (seconds)
POST   /_emulator/settings          {"dra_create_seconds": 5, ...}
GET    /_emulator/faults            -> throttles and queued one-shot faults
POST   /_emulator/faults/throttle   {"service": "ec2" | "*", "fraction": 0.3}
POST   /_emulator/faults/stack_create_failed  {"reason": "..."}           (next cluster stack)
POST   /_emulator/faults/dra_failed {"lifecycle": "FAILED" | "MISCONFIGURED", "message": "..."}  (next DRA)
DELETE /_emulator/faults            -> clear throttles and queued faults, restore default settings
GET    /_emulator/stored-secrets    -> {"values": [...]}: every secret value stored in Secrets Manager or as an SSM
                                       SecureString since the start, for the test suites' scan of their outputs
"""

import json

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from . import state


def _json(payload, status=200):
    return Response(json.dumps(payload, sort_keys=True), status=status, mimetype="application/json")


def _body(request):
    if not request.data:
        return {}
    payload = json.loads(request.data)
    if not isinstance(payload, dict):
        raise ValueError("the request body must be a JSON object")
    return payload


def _faults_view():
    return {"throttle": state.throttles(), "pending": state.pending_faults()}


def _route(request):
    path = request.path[len("/_emulator/"):].strip("/")
    method = request.method
    if path == "health":
        return _json({"status": "ok"})
    if path == "requests":
        if method == "GET":
            return _json(state.request_log())
        if method == "DELETE":
            state.reset_request_log()
            return _json(state.request_log())
        raise MethodNotAllowed(["GET", "DELETE"])
    if path == "stored-secrets" and method == "GET":
        return _json({"values": state.stored_secrets()})
    if path == "settings":
        if method == "GET":
            return _json(state.settings())
        if method == "POST":
            return _json(state.update_settings(_body(request)))
        raise MethodNotAllowed(["GET", "POST"])
    if path == "faults":
        if method == "GET":
            return _json(_faults_view())
        if method == "DELETE":
            state.reset_faults()
            return _json(_faults_view())
        raise MethodNotAllowed(["GET", "DELETE"])
    if path.startswith("faults/") and method == "POST":
        name, payload = path[len("faults/"):], _body(request)
        if name == "throttle":
            if "service" not in payload or "fraction" not in payload:
                raise ValueError("throttle takes {'service': <signing name or '*'>, 'fraction': 0..1}")
            state.set_throttle(payload["service"], payload["fraction"])
        else:
            state.queue_fault(name, payload)
        return _json(_faults_view())
    raise NotFound()


@Request.application
def control_app(request):
    try:
        return _route(request)
    except ValueError as error:
        return _json({"error": str(error)}, status=400)
    except HTTPException as error:
        return _json({"error": error.description}, status=error.code)
