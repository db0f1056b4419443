"""A Keycloak realm for tests, served over HTTP on 127.0.0.1: its OpenID discovery document and its JWKS
(protocol/openid-connect/certs), and RSA keys in JWK form."""
# pylint: disable=missing-function-docstring

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import rsa


def b64int(value):
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def rsa_jwk(kid, **extra):
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": b64int(numbers.n), "e": b64int(numbers.e), **extra}


class Realm:
    """What the test realm serves: path -> (status, body)."""

    def __init__(self):
        self.routes = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        realm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's name)
                status, body = realm.routes.get(self.path, (404, "not found"))
                data = body if isinstance(body, str) else json.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args):
                pass

        return Handler

    def serve(self, realm_path="/realms/SBO", issuer=None, keys=None):
        realm_url = self.url + realm_path
        self.routes[realm_path + "/.well-known/openid-configuration"] = (200, {
            "issuer": issuer or realm_url, "jwks_uri": realm_url + "/protocol/openid-connect/certs"})
        self.routes[realm_path + "/protocol/openid-connect/certs"] = (200, {"keys": keys if keys is not None else []})
        return realm_url
