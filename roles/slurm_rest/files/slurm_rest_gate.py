#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""slurm-rest-gate: the HTTP front of slurmrestd on a cluster's head node (installed by the role slurm_rest).

    slurm_rest_gate.py CONFIG.json

slurmrestd (auth/jwt) does not check a token itself: it hands it to slurmctld or slurmdbd, which verify it, and a
token they refuse comes back as HTTP 500; any token naming any user of the machine (root included) is taken. This
gate answers on the REST port and lets a request through to slurmrestd's UNIX socket only with a token that

  - is a JWS signed with RS256 by a key of the JWKS file (the realm's keys, the same file Slurm reads; reloaded
    when the file changes),
  - has not expired (exp, nbf; no leeway) and does not live longer than max_lifespan seconds,
  - comes from the expected issuer and client (iss, azp), when those are configured,
  - names, in the claim Slurm takes its user from (sun, then username, then Slurm's userclaimfield), one of the
    allowed users, and agrees with X-SLURM-USER-NAME when the client sends one.

  - comes from one of allowed_sources (CIDR blocks), when those are configured (the security group is the check
    otherwise).

No token: 401. A token that fails a check: 401; a valid token for a user not allowed: 403. Accepted requests reach
slurmrestd with X-SLURM-USER-NAME and X-SLURM-USER-TOKEN (the form every slurmrestd version reads; Bearer is
translated), and Slurm verifies the token once more. Tokens are never logged. Python 3.6+ standard library only
(the head node has no internet access to install anything).
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

# DER of the DigestInfo prefix for SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
CREDENTIAL_HEADERS = {"authorization", "x-slurm-user-name", "x-slurm-user-token"}


class Refused(Exception):
    """A request that does not reach slurmrestd: HTTP status and the reason (never containing the token)."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def b64url_decode(text):
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise Refused(401, "token is not a JWS (base64url)")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise Refused(401, "token has a duplicate claim")
        result[key] = value
    return result


def json_object(raw, what):
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):
        raise Refused(401, "token %s is not JSON" % what)
    if not isinstance(value, dict):
        raise Refused(401, "token %s is not a JSON object" % what)
    return value


def verify_rs256(n, e, signing_input, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2): the expected encoding is rebuilt and compared whole."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


def load_keys(document):
    """{kid: (n, e)} of the RS256 keys of a JWKS (as Slurm reads them: kty RSA, alg RS256 or none)."""
    keys = {}
    for key in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or key.get("alg", "RS256") != "RS256":
            continue
        if key.get("use", "sig") != "sig" or not isinstance(key.get("kid"), str):
            continue
        try:
            n = int.from_bytes(b64url_decode(key["n"]), "big")
            e = int.from_bytes(b64url_decode(key["e"]), "big")
        except (KeyError, TypeError, Refused):
            continue
        if n.bit_length() >= 2048 and e > 1:
            keys[key["kid"]] = (n, e)
    return keys


class Policy:
    """What a token must be to pass; ``check`` returns the user or raises Refused."""

    def __init__(self, config):
        self.jwks_file = config["jwks_file"]
        self.user_claims = list(config["user_claims"])
        self.allowed_users = set(config["allowed_users"])
        self.max_lifespan = int(config["max_lifespan"])
        self.issuer = config.get("issuer") or ""
        self.allowed_clients = set(config.get("allowed_clients") or [])
        self._keys, self._stamp, self._lock = {}, None, threading.Lock()

    def keys(self):
        """The JWKS file's keys, read again when the file changes (a rotation needs no restart)."""
        try:
            stat = os.stat(self.jwks_file)
        except OSError:
            return self._keys
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if stamp != self._stamp:
                try:
                    with open(self.jwks_file, "rb") as handle:
                        self._keys = load_keys(json.loads(handle.read().decode("utf-8")))
                    self._stamp = stamp
                    log("loaded %d RS256 key(s) from %s" % (len(self._keys), self.jwks_file))
                except (OSError, ValueError) as error:
                    log("cannot read %s: %s; keeping the %d key(s) loaded before" % (self.jwks_file, error, len(self._keys)))
            return self._keys

    def check(self, token, header_user, now=None):
        now = time.time() if now is None else now
        parts = token.split(".")
        if len(parts) != 3:
            raise Refused(401, "token is not a JWS (three parts)")
        header = json_object(b64url_decode(parts[0]), "header")
        claims = json_object(b64url_decode(parts[1]), "payload")
        signature = b64url_decode(parts[2])
        if header.get("alg") != "RS256":
            raise Refused(401, "token is not signed with RS256")
        key = self.keys().get(header.get("kid")) if isinstance(header.get("kid"), str) else None
        if key is None:
            raise Refused(401, "token is signed by a key that is not in the JWKS")
        if not verify_rs256(key[0], key[1], (parts[0] + "." + parts[1]).encode("ascii"), signature):
            raise Refused(401, "token signature does not verify")
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise Refused(401, "token has no exp")
        if exp <= now:
            raise Refused(401, "token expired")
        if isinstance(nbf, (int, float)) and not isinstance(nbf, bool) and nbf > now:
            raise Refused(401, "token not valid yet")
        start = iat if isinstance(iat, (int, float)) and not isinstance(iat, bool) else now
        if exp - min(start, now) > self.max_lifespan:
            raise Refused(401, "token lives longer than %d seconds" % self.max_lifespan)
        if self.issuer and claims.get("iss") != self.issuer:
            raise Refused(401, "token is from another issuer")
        if self.allowed_clients and claims.get("azp") not in self.allowed_clients:
            raise Refused(403, "token was issued to a client that is not allowed")
        user = None
        for claim in self.user_claims:
            if claim in claims:
                user = claims[claim]
                break
        if not isinstance(user, str) or not user:
            raise Refused(401, "token names no user (%s)" % ", ".join(self.user_claims))
        if user not in self.allowed_users:
            raise Refused(403, "token names user %r, who may not use the REST API" % user[:64])
        if header_user is not None and header_user != user:
            raise Refused(403, "X-SLURM-USER-NAME differs from the token's user")
        return user


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to slurmrestd's UNIX socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def log(message):
    sys.stderr.write("slurm-rest-gate: %s\n" % message)
    sys.stderr.flush()


def make_handler(policy, config):
    upstream = config["upstream_socket"]
    timeout = int(config.get("upstream_timeout", 60))
    max_body = int(config.get("max_body_bytes", 16 * 1024 * 1024))
    sources = [ipaddress.ip_network(cidr) for cidr in config.get("allowed_sources") or []]

    class Gate(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "slurm-rest-gate"
        sys_version = ""

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # http.server's signature
            pass  # requests are logged by _log, without query strings or headers

        def _log(self, status, user, reason=""):
            path = self.path.split("?", 1)[0][:200]
            log("%s %s %s -> %d%s%s" % (self.client_address[0], self.command, path, status,
                                        " user=%s" % user if user else "", " (%s)" % reason if reason else ""))

        def _reply(self, status, reason):
            body = json.dumps({"errors": [{"error": reason, "error_number": status}], "warnings": []}).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="slurmrestd"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def _token(self):
            token = self.headers.get("X-SLURM-USER-TOKEN")
            bearer = self.headers.get("Authorization")
            if token is not None and bearer is not None:
                raise Refused(401, "both X-SLURM-USER-TOKEN and Authorization given")
            if bearer is not None:
                scheme, _sep, value = bearer.partition(" ")
                if scheme.lower() != "bearer" or not value.strip():
                    raise Refused(401, "Authorization is not a Bearer token")
                token = value.strip()
            if not token:
                raise Refused(401, "no token (Authorization: Bearer, or X-SLURM-USER-TOKEN)")
            return token.strip()

        def _handle(self):
            user = None
            try:
                if sources:
                    address = ipaddress.ip_address(self.client_address[0])
                    address = getattr(address, "ipv4_mapped", None) or address
                    if not any(address in network for network in sources):
                        raise Refused(403, "source address not allowed")
                if self.headers.get("Transfer-Encoding"):
                    raise Refused(411, "chunked bodies are not accepted: send Content-Length")
                length = self.headers.get("Content-Length") or "0"
                if not length.isdigit() or int(length) > max_body:
                    raise Refused(413, "body too large or bad Content-Length")
                token = self._token()
                user = policy.check(token, self.headers.get("X-SLURM-USER-NAME"))
                body = self.rfile.read(int(length)) if int(length) else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() not in CREDENTIAL_HEADERS}
                headers.update({"X-SLURM-USER-NAME": user, "X-SLURM-USER-TOKEN": token})
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                connection = UnixHTTPConnection(upstream, timeout)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as error:
                    log("slurmrestd did not answer: %s" % error)
                    raise Refused(502, "slurmrestd did not answer")
                finally:
                    connection.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self._log(response.status, user)
            except Refused as refused:
                self._reply(refused.status, refused.reason)
                self._log(refused.status, user, refused.reason)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    return Gate


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, handler, timeout):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.connection_timeout = timeout
        super().__init__(address, handler)

    def get_request(self):
        connection, address = super().get_request()
        connection.settimeout(self.connection_timeout)
        return connection, address


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: slurm_rest_gate.py CONFIG.json\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    policy = Policy(config)
    if not policy.keys():
        log("warning: no RS256 key in %s yet: every token is refused until it has one" % policy.jwks_file)
    server = Server((config["listen_host"], int(config["listen_port"])), make_handler(policy, config),
                    int(config.get("client_timeout", 30)))
    log("listening on %s port %s, slurmrestd at %s, users %s" % (config["listen_host"], config["listen_port"],
                                                                 config["upstream_socket"], sorted(policy.allowed_users)))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
