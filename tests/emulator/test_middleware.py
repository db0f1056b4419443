"""The middleware in front of moto, with a stand-in WSGI app: one request at a time inside moto, 500s recorded."""

import threading
import time

from emulator import state
from emulator.middleware import AwsCallMiddleware

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


def test_a_failure_inside_moto_is_recorded_with_its_call():
    def failing(_environ, start_response):
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
        return [b"<!doctype html><title>500 Internal Server Error</title>"]

    state.reset_request_log()
    statuses = []
    middleware = AwsCallMiddleware(failing, control_app=None)
    middleware(dict(SIGNED), lambda status, headers, exc_info=None: statuses.append(status))
    try:
        assert statuses == ["500 INTERNAL SERVER ERROR"]
        assert state.request_log()["internal_errors"] == [{"service": "ec2", "operation": "DescribeThings", "count": 1}]
    finally:
        state.reset_request_log()
    assert state.request_log()["internal_errors"] == []
