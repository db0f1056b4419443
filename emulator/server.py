"""Start the emulator: moto's WSGI app with the project's fills, behind the logging/throttling middleware."""

import functools
import ipaddress
import socket
import threading

from werkzeug.serving import make_server

from . import state
from .control import control_app
from .fills import install_for
from .middleware import CALL_KEY, AwsCallMiddleware


def check_loopback(host):
    """Refuse to bind anything but a loopback address: the emulator must never be reachable from outside."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve host {host!r}: {error}") from error
    foreign = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if foreign:
        raise ValueError(f"refusing to bind {host!r} ({', '.join(foreign)}): only loopback addresses are allowed")


def build_app(moto_app=None):
    """The middleware in front of moto's dispatcher (or of ``moto_app``, a stand-in for tests)."""
    if moto_app is None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # pylint: disable=import-outside-toplevel

        def create_app(service):
            install_for(service)
            return create_backend_app(service)

        moto_app = DomainDispatcherApplication(create_app)
    return AwsCallMiddleware(moto_app, control_app)


@functools.cache
def request_handler():
    """moto's request handler, counting every HTTP 500 it sends in the request log (``internal_errors``).

    Counted here, where the status line is written, and nowhere else: a 500 may come from moto's answer, from an
    exception raised in moto, a fill, the middleware or the control endpoint (werkzeug answers those with its own
    500 page, which no start_response of the middleware sees), or from werkzeug itself. The call is the one the
    middleware named in the request's environ, if it got that far.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # pylint: disable=import-outside-toplevel

    class EmulatorRequestHandler(MotoRequestHandler):
        def handle_one_request(self):
            self.environ = {}  # never name a 500 after the previous request of a kept-alive connection
            super().handle_one_request()

        def send_response(self, code, message=None):
            if int(code) == 500:
                service, operation = (getattr(self, "environ", None) or {}).get(
                    CALL_KEY, ("unknown", f"{self.command} {getattr(self, 'path', '')}".strip()))
                state.record_internal_error(service, operation)
            super().send_response(code, message)

    return EmulatorRequestHandler


def make_emulator(host="127.0.0.1", port=5000, moto_app=None):
    """A started-up-but-not-serving werkzeug server; call serve_forever() or use start_in_thread()."""
    check_loopback(host)
    return make_server(host, port, build_app(moto_app), threaded=True, request_handler=request_handler())


def start_in_thread(host="127.0.0.1", port=0, moto_app=None):
    """Serve in a daemon thread (in-process tests); returns (server, endpoint_url)."""
    server = make_emulator(host, port, moto_app)
    threading.Thread(target=server.serve_forever, daemon=True, name="aws-emulator").start()
    return server, f"http://{host}:{server.server_port}"
