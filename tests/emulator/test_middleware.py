"""The middleware in front of moto, with a stand-in WSGI app: one request at a time inside moto, nothing waiting on
anything but moto under its lock, every 500 recorded."""

import socket
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
SIGNED_HEADERS = {"Authorization": SIGNED["HTTP_AUTHORIZATION"], "X-Amz-Target": SIGNED["HTTP_X_AMZ_TARGET"]}


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


def echo_body(environ, start_response):
    """A stand-in moto that answers with the request's body, read as moto reads it."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def signed_request(endpoint, body=b"{}", timeout=10):
    request = urllib.request.Request(endpoint + "/", data=body, method="POST", headers=SIGNED_HEADERS)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def test_a_body_still_on_its_way_holds_no_other_request():
    """A client that sends its headers, then its body late (an S3 upload waiting for "100 Continue", or a client
    starved of CPU), is read before the lock: meanwhile other requests go through moto, and its body arrives whole."""
    server, endpoint = start_in_thread(moto_app=echo_body)
    late = socket.create_connection(("127.0.0.1", server.server_port), timeout=30)
    try:
        headers = "".join(f"{name}: {value}\r\n" for name, value in SIGNED_HEADERS.items())
        late.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: 10\r\n\r\n".encode())
        time.sleep(0.2)  # the late request is in the server, waiting for its body
        assert signed_request(endpoint, b'{"other": 1}') == b'{"other": 1}'  # not held behind the late one
        late.sendall(b"late-body!")
        answer = b""
        while not answer.endswith(b"late-body!"):
            chunk = late.recv(4096)
            assert chunk, f"connection closed, answer so far: {answer!r}"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        late.close()
        server.shutdown()
        server.server_close()


def test_work_outside_the_lock_lets_other_requests_through_moto():
    """A fill's backend-free work (a template parsed) under ``outside_moto_lock``: other requests go through moto
    meanwhile, and the request then finishes under the lock again, one request at a time inside moto as before."""
    probe = OverlapProbe()
    outside, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/parse":
            with middleware.outside_moto_lock():
                outside.set()
                assert release.wait(30)
        return probe(environ, start_response)

    middleware_app = AwsCallMiddleware(app, control_app=None)
    bodies = {}

    def call(path, key):
        bodies[key] = b"".join(middleware_app(dict(SIGNED, PATH_INFO=path), lambda status, headers, exc_info=None: None))

    parsing = threading.Thread(target=call, args=("/parse", "parse"))
    parsing.start()
    assert outside.wait(10)
    others = [threading.Thread(target=call, args=("/", index)) for index in range(4)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(10)
    assert [bodies.get(index) for index in range(4)] == [b"part-two"] * 4  # done while the parse went on
    assert parsing.is_alive()
    release.set()
    parsing.join(10)
    assert bodies["parse"] == b"part-two"
    assert probe.most_inside == 1


def test_outside_the_lock_is_a_no_op_without_the_middleware():
    """moto called in-process (no middleware, no lock held): the fills' code runs as it is."""
    with middleware.outside_moto_lock():
        pass
    assert not middleware._MOTO_LOCK.locked()  # pylint: disable=protected-access


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
