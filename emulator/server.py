"""Start the emulator: moto's WSGI app with the project's fills, behind the logging/throttling middleware."""

import ipaddress
import socket
import threading

from werkzeug.serving import make_server

from .control import control_app
from .fills import install_for
from .middleware import AwsCallMiddleware


def check_loopback(host):
    """Refuse to bind anything but a loopback address: the emulator must never be reachable from outside."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve host {host!r}: {error}") from error
    foreign = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if foreign:
        raise ValueError(f"refusing to bind {host!r} ({', '.join(foreign)}): only loopback addresses are allowed")


def build_app():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # pylint: disable=import-outside-toplevel

    def create_app(service):
        install_for(service)
        return create_backend_app(service)

    return AwsCallMiddleware(DomainDispatcherApplication(create_app), control_app)


def make_emulator(host="127.0.0.1", port=5000):
    """A started-up-but-not-serving werkzeug server; call serve_forever() or use start_in_thread()."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # pylint: disable=import-outside-toplevel

    check_loopback(host)
    return make_server(host, port, build_app(), threaded=True, request_handler=MotoRequestHandler)


def start_in_thread(host="127.0.0.1", port=0):
    """Serve in a daemon thread (in-process tests); returns (server, endpoint_url)."""
    server = make_emulator(host, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="aws-emulator").start()
    return server, f"http://{host}:{server.server_port}"
