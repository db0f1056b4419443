"""Unit tests of roles/slurm_rest/files/slurm_rest_gate.py: the token checks (signed with cryptography, verified by
the gate's own RS256 code) and the gate end to end, in front of a stand-in slurmrestd on a UNIX socket."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import base64
import importlib.util
import json
import os
import socketserver
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GATE_PATH = Path(__file__).resolve().parents[3] / "roles" / "slurm_rest" / "files" / "slurm_rest_gate.py"
spec = importlib.util.spec_from_file_location("slurm_rest_gate", GATE_PATH)
gate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gate)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(number):
    return b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


class Signer:
    """An RSA key of the test realm: its JWK and the tokens it signs."""

    def __init__(self, kid, bits=2048):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64int(numbers.n), "e": b64int(numbers.e)}

    def token(self, header=None, raw_payload=None, **claims):
        now = int(time.time())
        payload = {"iss": "https://kc.example.org/realms/SBO", "azp": "workflow-service", "iat": now, "exp": now + 300,
                   "preferred_username": "sim", **claims}
        head = b64(json.dumps(header or {"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        body = b64(raw_payload if raw_payload is not None else json.dumps(payload).encode())
        signature = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64(signature)}"


@pytest.fixture(scope="module")
def realm_key():
    return Signer("realm-1")


@pytest.fixture(scope="module")
def other_key():
    return Signer("realm-1")  # same kid, another key: a forged token


@pytest.fixture
def jwks_file(tmp_path, realm_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [realm_key.jwk]}))
    return path


@pytest.fixture
def policy(jwks_file):
    return gate.Policy({"jwks_file": str(jwks_file), "user_claims": ["sun", "username", "preferred_username"],
                        "allowed_users": ["sim"], "max_lifespan": 3600,
                        "issuer": "https://kc.example.org/realms/SBO", "allowed_clients": ["workflow-service"]})


def refused(policy, token, header_user=None):
    with pytest.raises(gate.Refused) as error:
        policy.check(token, header_user)
    return error.value.status, error.value.reason


def test_verify_rs256_matches_cryptography(realm_key):
    message = b"header.payload"
    signature = realm_key.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    numbers = realm_key.key.public_key().public_numbers()
    assert gate.verify_rs256(numbers.n, numbers.e, message, signature)
    assert not gate.verify_rs256(numbers.n, numbers.e, b"header.payloaX", signature)
    assert not gate.verify_rs256(numbers.n, numbers.e, message, signature[:-1])
    assert not gate.verify_rs256(numbers.n, numbers.e, message, b"\x00" + signature[1:])
    pss = realm_key.key.sign(message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert not gate.verify_rs256(numbers.n, numbers.e, message, pss)


def test_valid_token(policy, realm_key):
    assert policy.check(realm_key.token(), None) == "sim"
    assert policy.check(realm_key.token(), "sim") == "sim"


def test_user_claims_in_slurms_order(policy, realm_key):
    # Slurm takes sun, then username, then its userclaimfield: so does the gate.
    assert refused(policy, realm_key.token(sun="alice")) == (403, "token names user 'alice', who may not use the REST API")
    assert policy.check(realm_key.token(preferred_username="alice", sun="sim"), None) == "sim"
    assert refused(policy, realm_key.token(username="root"))[0] == 403


def test_other_user(policy, realm_key):
    assert refused(policy, realm_key.token(preferred_username="alice"))[0] == 403
    assert refused(policy, realm_key.token(preferred_username=["sim"]))[0] == 401
    assert refused(policy, realm_key.token(), header_user="alice") == (403, "X-SLURM-USER-NAME differs from the token's user")


def test_no_user(policy, realm_key):
    token = realm_key.token()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    del claims["preferred_username"]
    assert refused(policy, realm_key.token(raw_payload=json.dumps(claims).encode()))[1].startswith("token names no user")


def test_expired_and_not_yet_valid(policy, realm_key):
    now = int(time.time())
    assert refused(policy, realm_key.token(iat=now - 600, exp=now - 1)) == (401, "token expired")
    assert refused(policy, realm_key.token(nbf=now + 60)) == (401, "token not valid yet")
    assert refused(policy, realm_key.token(exp="soon")) == (401, "token has no exp")


def test_lifespan(policy, realm_key):
    now = int(time.time())
    assert refused(policy, realm_key.token(iat=now, exp=now + 7200)) == (401, "token lives longer than 3600 seconds")
    assert refused(policy, realm_key.token(iat=now - 5000, exp=now + 60)) == (401, "token lives longer than 3600 seconds")
    claims = {"preferred_username": "sim", "exp": now + 7200, "iss": "https://kc.example.org/realms/SBO",
              "azp": "workflow-service"}
    assert refused(policy, realm_key.token(raw_payload=json.dumps(claims).encode()))[0] == 401  # no iat: from now


def test_other_key_same_kid(policy, other_key):
    assert refused(policy, other_key.token()) == (401, "token signature does not verify")


def test_unknown_kid(policy):
    assert refused(policy, Signer("elsewhere").token()) == (401, "token is signed by a key that is not in the JWKS")


def test_issuer_and_client(policy, realm_key):
    assert refused(policy, realm_key.token(iss="https://kc.example.org/realms/OTHER")) == (401, "token is from another issuer")
    assert refused(policy, realm_key.token(azp="web-portal"))[0] == 403


@pytest.mark.parametrize("header", [{"alg": "none", "kid": "realm-1"}, {"alg": "HS256", "kid": "realm-1"},
                                    {"alg": "RS256"}, {"alg": "RS256", "kid": 7}])
def test_header_refused(policy, realm_key, header):
    assert refused(policy, realm_key.token(header=header))[0] == 401


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.e30", "W10.e30.AA"])
def test_malformed(policy, token):
    assert refused(policy, token)[0] == 401


def test_duplicate_claim(policy, realm_key):
    now = int(time.time())
    raw = ('{"exp": %d, "iat": %d, "preferred_username": "alice", "preferred_username": "sim"}' % (now + 60, now)).encode()
    assert refused(policy, realm_key.token(raw_payload=raw)) == (401, "token has a duplicate claim")


def test_rotation_reloads_the_file(policy, jwks_file, realm_key):
    new = Signer("realm-2")
    assert policy.check(realm_key.token(), None) == "sim"
    jwks_file.write_text(json.dumps({"keys": [new.jwk]}))
    os.utime(jwks_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert policy.check(new.token(), None) == "sim"
    assert refused(policy, realm_key.token())[0] == 401


def test_load_keys_skips_what_slurm_skips(realm_key):
    enc = dict(realm_key.jwk, kid="enc", use="enc")
    oaep = dict(realm_key.jwk, kid="oaep", alg="RSA-OAEP")
    short = Signer("short", bits=1024).jwk
    assert set(gate.load_keys({"keys": [realm_key.jwk, enc, oaep, short, {"kty": "oct"}, "x"]})) == {"realm-1"}
    assert not gate.load_keys([])


class Upstream(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A stand-in slurmrestd: answers 200 with what it received."""

    daemon_threads = True


@pytest.fixture
def gate_url(tmp_path, jwks_file, request):
    received = []

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            data = json.dumps({"job_id": 42}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    socket_path = str(tmp_path / "slurmrestd.socket")
    upstream = Upstream(socket_path, Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    config = {"jwks_file": str(jwks_file), "user_claims": ["sun", "username", "preferred_username"],
              "allowed_users": ["sim"], "max_lifespan": 3600, "upstream_socket": socket_path,
              "allowed_sources": getattr(request, "param", [])}
    server = gate.Server(("127.0.0.1", 0), gate.make_handler(gate.Policy(config), config), 10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    upstream.shutdown()


def call(url, headers=None, body=None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_gate_forwards_with_slurm_headers(gate_url, realm_key):
    url, received = gate_url
    token = realm_key.token()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    status, body = call(url + "/slurm/v0.0.40/job/submit", headers, b'{"job": {}}')
    assert (status, body) == (200, {"job_id": 42})
    forwarded = received[-1]
    assert forwarded["path"] == "/slurm/v0.0.40/job/submit" and forwarded["body"] == b'{"job": {}}'
    assert forwarded["headers"]["X-SLURM-USER-NAME"] == "sim" and forwarded["headers"]["X-SLURM-USER-TOKEN"] == token
    assert "Authorization" not in forwarded["headers"]
    assert call(url + "/slurm/v0.0.40/diag", {"X-SLURM-USER-TOKEN": token, "X-SLURM-USER-NAME": "sim"})[0] == 200


def test_gate_refuses(gate_url, realm_key, other_key):
    url, received = gate_url
    now = int(time.time())
    cases = {
        "no token": ({}, 401),
        "not bearer": ({"Authorization": "Basic c2ltOnNpbQ=="}, 401),
        "both headers": ({"Authorization": "Bearer " + realm_key.token(), "X-SLURM-USER-TOKEN": realm_key.token()}, 401),
        "expired": ({"Authorization": "Bearer " + realm_key.token(iat=now - 600, exp=now - 10)}, 401),
        "other key": ({"Authorization": "Bearer " + other_key.token()}, 401),
        "other user": ({"Authorization": "Bearer " + realm_key.token(preferred_username="alice")}, 403),
    }
    for name, (headers, status) in cases.items():
        answer = call(url + "/slurm/v0.0.40/jobs", headers)
        assert answer[0] == status, name
        assert answer[1]["errors"][0]["error"], name
    assert received == []


@pytest.mark.parametrize("gate_url", [["10.0.0.0/16"]], indirect=True)
def test_gate_refuses_other_sources(gate_url, realm_key):
    url, received = gate_url
    status, body = call(url + "/slurm/v0.0.40/jobs", {"Authorization": "Bearer " + realm_key.token()})
    assert (status, body["errors"][0]["error"]) == (403, "source address not allowed") and received == []


@pytest.mark.parametrize("gate_url", [["127.0.0.0/8"]], indirect=True)
def test_gate_allows_listed_sources(gate_url, realm_key):
    url, _received = gate_url
    assert call(url + "/slurm/v0.0.40/jobs", {"Authorization": "Bearer " + realm_key.token()})[0] == 200
