"""WSGI middleware in front of moto: names each AWS call, logs it, and throttles on request.

Every request passes through here before moto sees it, so the request log and the
throttling switch cover all services, S3's own dispatch path included. The call it names is left in the
request's environ (``CALL_KEY``) for the server's request handler, which counts every HTTP 500 (server.py).

moto runs one request at a time (``_MOTO_LOCK``); what would wait there on something other than moto's backends is
kept out of the lock: the request body is read from the socket before it is taken, and a fill may let other requests
in while its request does slow backend-free work (``outside_moto_lock``: a stack's template parsed, see
fills/cfn_templates.py).
"""

import contextlib
import functools
import io
import json
import re
import threading
from urllib.parse import parse_qs

from . import state

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# Signing names whose botocore service name differs.
_SERVICE_BY_SIGNING_NAME = {"elasticfilesystem": "efs", "monitoring": "cloudwatch", "email": "ses"}
# Operation-name prefixes that never change anything.
_READ_PREFIXES = ("Describe", "Get", "List", "Head", "Search", "Lookup", "Query", "Scan", "BatchGet",
                  "Validate", "Estimate", "Check", "Preview", "Detect", "Select")
# Throttling error codes AWS returns, per protocol (the ones botocore's retry handlers expect).
_THROTTLE_CODE = {"json": "ThrottlingException", "rest-json": "ThrottlingException",
                  "query": "Throttling", "ec2": "RequestLimitExceeded", "rest-xml": "SlowDown"}
_MAX_BUFFERED_BODY = 1024 * 1024  # form bodies larger than this are not inspected for an Action
# moto's backends are plain dicts and lists, not safe for concurrent requests (getmoto/moto#372): two concurrent
# CreateStack calls of one name could both succeed. One request at a time inside moto; under the GIL it ran little
# faster anyway. Per-service locks would let little more through: moto's services reach into each other's backends
# (EC2 into IAM, KMS, S3 and Logs; DynamoDB into S3 and KMS; SSM, EFS and RDS into EC2; CloudFormation into all).
_MOTO_LOCK = threading.Lock()
_holder = threading.local()  # .holds: this thread holds _MOTO_LOCK (a Lock cannot say which thread holds it)
# Bodies up to this size are read before the lock is taken (moto reads every body into memory anyway); a client
# that sends its body late (S3 uploads wait for "100 Continue"; a client starved of CPU) no longer holds moto.
_MAX_PREREAD_BODY = 64 * 1024 * 1024
# The environ key of (service, operation): the call a request makes, as named here.
CALL_KEY = "emulator.call"
# Calls that store a secret value, and where it is in their JSON body (SSM: only when Type is SecureString).
_SECRET_WRITES = {("secretsmanager", "CreateSecret"): "SecretString", ("secretsmanager", "PutSecretValue"): "SecretString",
                  ("secretsmanager", "UpdateSecret"): "SecretString", ("ssm", "PutParameter"): "Value"}


def signing_service(environ):
    """The SigV4 signing name of the request ('ec2', 'fsx', 'elasticfilesystem', ...), or None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(auth) or _CREDENTIAL.search("Credential=" + _query_value(environ, "X-Amz-Credential"))
    return match.group(1) if match else None


def _query_value(environ, name):
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else ""


@functools.lru_cache(maxsize=64)
def _service_model(signing_name):
    import botocore.session  # pylint: disable=import-outside-toplevel  # only when a REST call needs it

    try:
        return botocore.session.get_session().get_service_model(
            _SERVICE_BY_SIGNING_NAME.get(signing_name, signing_name))
    except Exception:  # pylint: disable=broad-exception-caught  # an unknown service is logged as such
        return None


def _buffer_body(environ):
    """Read the request body once and put it back, so that moto can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _preread_body(environ):
    """Read the body before the lock is taken, when its length is known and it is not read already."""
    if isinstance(environ.get("wsgi.input"), io.BytesIO):
        return
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return  # moto answers a bad Content-Length as it always did
    if 0 < length <= _MAX_PREREAD_BODY:
        _buffer_body(environ)


@contextlib.contextmanager
def outside_moto_lock():
    """Let other requests into moto while this request's thread does work that reads and changes no backend.

    For a fill, in a request's own code before it calls the backend (a template being parsed): between leaving and
    re-taking the lock other requests change the backends, so nothing read from them before may be trusted after.
    A no-op on a thread that does not hold the lock (moto called in-process, without the middleware).
    """
    if not getattr(_holder, "holds", False):
        yield
        return
    _holder.holds = False
    _MOTO_LOCK.release()
    try:
        yield
    finally:
        _MOTO_LOCK.acquire()
        _holder.holds = True


def operation_name(environ, signing_name):
    """The AWS operation a request calls, as botocore names it."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    action = _query_value(environ, "Action")
    if action:
        return action
    content_type = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in content_type and int(environ.get("CONTENT_LENGTH") or 0) <= _MAX_BUFFERED_BODY:
        form = parse_qs(_buffer_body(environ).decode("utf-8", "replace"))
        if form.get("Action"):
            return form["Action"][0]
    return _rest_operation(environ, signing_name)


def _rest_operation(environ, signing_name):
    model = _service_model(signing_name)
    if model is None:
        return f"{environ['REQUEST_METHOD']} (unknown)"
    from moto.core.request import Request  # pylint: disable=import-outside-toplevel  # its raw_path is what the router matches
    from moto.core.routing import get_service_router  # pylint: disable=import-outside-toplevel

    try:
        operation, _uri_params = get_service_router(model.service_name).match(Request(environ))
        return operation.name
    except Exception:  # pylint: disable=broad-exception-caught  # unmatched REST paths are still counted
        return f"{environ['REQUEST_METHOD']} (unmatched)"


def record_stored_secret(signing_name, operation, environ):
    """Remember the secret value a Secrets Manager or SSM SecureString write carries (see state.record_secret)."""
    field = _SECRET_WRITES.get((signing_name, operation))
    if field is None:
        return
    try:
        payload = json.loads(_buffer_body(environ) or b"{}")
    except ValueError:
        return
    value = payload.get(field)
    if isinstance(value, str) and value and (signing_name != "ssm" or payload.get("Type") == "SecureString"):
        state.record_secret(value)


def is_read(operation, environ):
    if operation.startswith(_READ_PREFIXES):
        return True
    # EC2 DryRun calls (pcluster's launch template validators) change nothing.
    return "DryRun=true" in environ.get("QUERY_STRING", "") or b"DryRun=true" in _peek_body(environ)


def _peek_body(environ):
    stream = environ["wsgi.input"]
    return stream.getvalue() if isinstance(stream, io.BytesIO) else b""


def _protocol(signing_name, environ):
    content_type = environ.get("CONTENT_TYPE", "")
    if "cbor" in content_type:
        return "cbor"
    if "x-amz-json" in content_type:
        return "json"
    model = _service_model(signing_name)
    return model.metadata.get("protocol") if model is not None else "query"


def throttle_response(signing_name, environ, start_response):
    """An AWS-shaped throttling error in the protocol of the request, or None for protocols not rendered."""
    protocol = _protocol(signing_name, environ)
    code = _THROTTLE_CODE.get(protocol)
    if code is None:
        return None
    message = "Rate exceeded (emulator throttling switch)"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
        status = "400 Bad Request"
    elif protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>emulator-throttle</RequestID></Response>").encode()
        headers, status = [("Content-Type", "text/xml")], "503 Service Unavailable"
    elif protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers, status = [("Content-Type", "application/xml")], "503 Slow Down"
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>emulator-throttle</RequestId></ErrorResponse>").encode()
        headers, status = [("Content-Type", "text/xml")], "400 Bad Request"
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


class AwsCallMiddleware:
    """Logs and (when switched on) throttles every AWS call; everything else goes straight to moto."""

    def __init__(self, app, control_app):
        self.app = app
        self.control_app = control_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            environ[CALL_KEY] = ("emulator", f"{environ.get('REQUEST_METHOD', '')} {path}")
            return self.control_app(environ, start_response)
        environ[CALL_KEY] = ("unknown", f"{environ.get('REQUEST_METHOD', '')} {path}")
        signing_name = signing_service(environ)
        if signing_name is None:  # unsigned: moto's own /moto-api/ and health checks
            environ[CALL_KEY] = ("unsigned", path)
            return self._call_moto(environ, start_response)
        operation = operation_name(environ, signing_name)
        environ[CALL_KEY] = (signing_name, operation)
        state.record_request(signing_name, operation, "read" if is_read(operation, environ) else "write")
        record_stored_secret(signing_name, operation, environ)
        if state.should_throttle(signing_name):
            throttled = throttle_response(signing_name, environ, start_response)
            if throttled is not None:
                state.record_throttled()
                return throttled
        return self._call_moto(environ, start_response)

    def _call_moto(self, environ, start_response):
        """moto's answer, produced under the lock to the last byte (a 500, or an exception, is counted by the server)."""
        _preread_body(environ)
        with _MOTO_LOCK:
            _holder.holds = True
            try:
                result = self.app(environ, start_response)
                try:
                    return [b"".join(result)]
                finally:
                    if hasattr(result, "close"):
                        result.close()
            finally:
                _holder.holds = False
