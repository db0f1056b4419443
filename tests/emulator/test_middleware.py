"""The middleware in front of moto, with a stand-in WSGI app: one request at a time inside moto, every 500 recorded."""

import threading
import time
import urllib.error
import urllib.request

import pytest

from emulator import control, middleware, state
from emulator.middleware import AwsCallMiddleware
from emulator.server import start_in_thread

SIGNED = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261121/us-east-1/ec2/aws4_request",
          "HTTP_X_AMZ_TARGET": "Test.DescribeThings", "PATH_INFO": "/", "REQUEST_METHOD": "POST", "QUERY_STRING": ""}


class OverlapProbe:
    """A WSGI app that notes how many requests are inside it at once, and streams its body in two parts."""

    def __init__(self):
        self.inside = 0
        self.most_inside = 0
        self.guard = threading.Lock()

    def __call__(self, environ, start_response):
        with self.guard:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return self._body()

    def _body(self):
        time.sleep(0.02)  # a request still producing its body holds moto too
        yield b"part-"
        with self.guard:
            self.inside -= 1
        yield b"two"


def test_requests_enter_moto_one_at_a_time():
    probe = OverlapProbe()
    middleware = AwsCallMiddleware(probe, control_app=None)
    bodies = []

    def call():
        bodies.append(b"".join(middleware(dict(SIGNED), lambda status, headers, exc_info=None: None)))

    threads = [threading.Thread(target=call) for _caller in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert bodies == [b"part-two"] * 8
    assert probe.most_inside == 1


def answering_500(_environ, start_response):
    start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
    return [b"<!doctype html><title>500 Internal Server Error</title>"]


def raising(_environ, _start_response):
    raise KeyError("a stack settled twice")  # as a fill's exception leaves moto's Flask app (debug: propagated)


def failing_middleware(monkeypatch):
    def broken(_environ, _signing_name):
        raise RuntimeError("the middleware itself fails")

    monkeypatch.setattr(middleware, "operation_name", broken)


def failing_control(monkeypatch):
    def broken(_request):
        raise RuntimeError("the control endpoint fails")

    monkeypatch.setattr(control, "_route", broken)


def post(endpoint, path="/", headers=None):
    request = urllib.request.Request(endpoint + path, data=b"", method="POST", headers=headers or {})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    return raised.value.code


SIGNED_HEADERS = {"Authorization": SIGNED["HTTP_AUTHORIZATION"], "X-Amz-Target": SIGNED["HTTP_X_AMZ_TARGET"]}


@pytest.mark.parametrize("moto_app, breaks, path, call", [
    (answering_500, None, "/", ("ec2", "DescribeThings")),  # moto answers 500
    (raising, None, "/", ("ec2", "DescribeThings")),  # moto or a fill raises: werkzeug writes the 500
    (answering_500, failing_middleware, "/", ("unknown", "POST /")),  # the middleware raises before naming the call
    (answering_500, failing_control, "/_emulator/health", ("emulator", "POST /_emulator/health")),
], ids=["moto-answers-500", "raised-below-middleware", "middleware-raises", "control-endpoint-raises"])
def test_every_500_is_counted_once_with_its_call(monkeypatch, moto_app, breaks, path, call):
    """Counted by the server where it writes the status line, so no layer's 500 escapes the request log."""
    if breaks is not None:
        breaks(monkeypatch)
    server, endpoint = start_in_thread(moto_app=moto_app)
    state.reset_request_log()
    try:
        assert post(endpoint, path, SIGNED_HEADERS) == 500
        service, operation = call
        assert state.request_log()["internal_errors"] == [{"service": service, "operation": operation, "count": 1}]
    finally:
        server.shutdown()
        server.server_close()
        state.reset_request_log()
    assert state.request_log()["internal_errors"] == []
