# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pure checks behind the Slurm REST API: the Keycloak realm URL, its discovery document, the JWKS delivered to
the cluster, and who may reach slurmrestd. No I/O here: modules/jwks_info.py fetches, filter/rest_access.py exposes
the access checks to the playbooks.

Slurm's auth/jwt reads RS256 keys only, and Slurm 22.05 ignores a key without ``"alg": "RS256"`` (23.11 treats alg
as optional) and stops (fatal) on a key without ``kid``: the JWKS delivered to the cluster keeps the RSA signing keys
only, each with kty, kid, use, alg, n and e (x5c dropped: Slurm 23.02 prefers it, 23.11 ignores it; n and e are the
key either way).
"""

import base64
import ipaddress
import json
import re

try:
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # reported by the caller as a missing library
    rsa = None

RSA_MIN_BITS = 2048
# http is accepted for the loopback address only (a test provider on the controller); everything else is https.
LOOPBACK_HTTP_HOSTS = ("127.0.0.1",)
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
KID = re.compile(r"^[\x21-\x7e]{1,256}$")  # printable ASCII without spaces


class JwksError(ValueError):
    """A refused input; ``field`` names the option it came from."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _split_url(url):
    """(scheme, host, port, path) of an absolute http(s) URL, or None when it is not one."""
    match = re.match(r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(/[^?#\s]*)?$", url)
    if not match:
        return None
    scheme, host, port, path = match.groups()
    if port is not None and not 0 < int(port) < 65536:
        return None
    return scheme, host.strip("[]").lower(), port, path or ""


def check_url(field, url):
    """``url`` when it is an https URL (or http to 127.0.0.1), without user info, query or fragment; else JwksError."""
    if not isinstance(url, str) or not url.strip():
        raise JwksError(field, "is required: the https URL of the Keycloak realm, e.g. https://keycloak.example.org/realms/SBO")
    url = url.strip()
    parts = _split_url(url)
    if parts is None:
        raise JwksError(field, f"'{url}' is not a valid URL: an absolute https:// URL without user, query or fragment is needed")
    scheme, host, _port, _path = parts
    if scheme == "http" and host not in LOOPBACK_HTTP_HOSTS:
        raise JwksError(field, f"'{url}' must use https (plain http is accepted for 127.0.0.1 only, for tests)")
    return url


def discovery_url(realm_url):
    """The OpenID discovery document of a realm (Keycloak: <realm>/.well-known/openid-configuration)."""
    return check_url("realm_url", realm_url).rstrip("/") + "/.well-known/openid-configuration"


def check_discovery(document, realm_url):
    """(issuer, jwks_uri) of a realm's discovery document; the issuer must be the realm itself."""
    if not isinstance(document, dict):
        raise JwksError("realm_url", f"{discovery_url(realm_url)} did not return a JSON object (an OpenID discovery document)")
    issuer = document.get("issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(issuer, str) or not issuer:
        raise JwksError("realm_url", f"the discovery document of {realm_url} has no issuer")
    if issuer.rstrip("/") != realm_url.strip().rstrip("/"):
        raise JwksError("realm_url", f"the discovery document of {realm_url} names another issuer, '{issuer}': "
                                     "give the realm's own URL (the iss of its tokens)")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise JwksError("realm_url", f"the discovery document of {realm_url} has no jwks_uri")
    return issuer, check_url("jwks_uri", jwks_uri)


def _b64url_uint(field, value):
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9_-]+$", value):
        raise ValueError(f"{field} is not base64url")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _rs256_key(key):
    """The normalized RS256 signing key of one JWKS entry, None for an entry that is not one, ValueError when broken."""
    if not isinstance(key, dict) or key.get("kty") != "RSA":
        return None
    if key.get("use", "sig") != "sig" or key.get("alg", "RS256") != "RS256":
        return None
    ops = key.get("key_ops")
    if ops is not None and "verify" not in ops:
        return None
    kid = key.get("kid")
    if not isinstance(kid, str) or not KID.match(kid):
        raise ValueError("an RS256 key without a usable kid (Slurm needs one: printable ASCII without spaces)")
    n = _b64url_uint("n", key.get("n"))
    e = _b64url_uint("e", key.get("e"))
    if rsa is not None:
        public = rsa.RSAPublicNumbers(e, n).public_key()  # refuses an e or n that is not an RSA key
        bits = public.key_size
    else:
        bits = n.bit_length()
    if bits < RSA_MIN_BITS:
        raise ValueError(f"RSA key {kid} has {bits} bits, fewer than {RSA_MIN_BITS}")
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": key["n"], "e": key["e"]}


def rs256_jwks(document, field="jwks"):
    """The JWKS to deliver to Slurm: the RS256 signing keys of ``document`` (a JWKS as a dict or JSON text).

    Keys of other types or algorithms (Keycloak also publishes an RSA-OAEP encryption key) are left out; a broken
    RS256 key, a duplicate kid or no RS256 key at all is a JwksError naming ``field``.
    """
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise JwksError(field, f"is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError(field, 'is not a JWKS: a JSON object with a "keys" list is needed')
    if any(isinstance(key, dict) and ("d" in key or "p" in key) for key in document["keys"]):
        raise JwksError(field, "holds a private key: give the public JWKS only (the realm's protocol/openid-connect/certs)")
    keys, kids = [], set()
    for index, entry in enumerate(document["keys"]):
        try:
            key = _rs256_key(entry)
        except (ValueError, TypeError) as error:
            raise JwksError(field, f"key {index}: {error}") from None
        if key is None:
            continue
        if key["kid"] in kids:
            raise JwksError(field, f"kid {key['kid']} appears twice")
        kids.add(key["kid"])
        keys.append(key)
    if not keys:
        raise JwksError(field, "has no RS256 signing key (kty RSA, alg RS256 or none, use sig or none): "
                               "Slurm's auth/jwt verifies RS256 tokens only")
    return {"keys": keys}


def cidr_errors(cidrs, field="allowed_cidrs"):
    """The reasons why each of ``cidrs`` may not reach slurmrestd (invalid, or open to the whole internet)."""
    errors = []
    for cidr in cidrs or []:
        text = str(cidr).strip()
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as error:
            errors.append(f"{field}: '{text}' is not a CIDR block ({error})")
            continue
        if "/" not in text:
            errors.append(f"{field}: '{text}' needs its prefix length (e.g. {text}/32)")
        elif network.prefixlen == 0:
            errors.append(f"{field}: '{text}' opens slurmrestd to the whole internet; give the Workflow Service's CIDR "
                          "or security group")
    return errors


def rest_access_error(cidrs, security_groups, cidr_field="allowed_cidrs", sg_field="allowed_security_groups"):
    """Why the REST API's allowed sources are not acceptable, or None: at least one CIDR or security group, none open."""
    if isinstance(cidrs, str) or isinstance(security_groups, str):
        return f"{cidr_field} and {sg_field} are lists"
    cidrs = [c for c in (cidrs or []) if str(c).strip()]
    security_groups = [g for g in (security_groups or []) if str(g).strip()]
    if not cidrs and not security_groups:
        return (f"{cidr_field} or {sg_field} is required with the REST API on: the Workflow Service's CIDR block or "
                "security group, the only source allowed to reach slurmrestd")
    errors = cidr_errors(cidrs, cidr_field)
    errors += [f"{sg_field}: '{g}' is not a security group id (sg-...)" for g in security_groups
               if not SECURITY_GROUP_ID.match(str(g).strip())]
    return "; ".join(errors) or None


def rest_ingress_rules(cidrs, security_groups, port):
    """The REST port's ingress rules (amazon.aws.ec2_security_group's ``rules``) for sources that rest_access_error took:
    one rule for the IPv4 blocks, one for the IPv6 blocks, one per security group."""
    blocks = [ipaddress.ip_network(str(c).strip(), strict=False) for c in cidrs or [] if str(c).strip()]
    base = {"proto": "tcp", "ports": [int(port)], "rule_desc": "Slurm REST API"}
    rules = []
    for family, key in ((4, "cidr_ip"), (6, "cidr_ipv6")):
        chosen = [str(block) for block in blocks if block.version == family]
        if chosen:
            rules.append(dict(base, **{key: chosen}))
    rules += [dict(base, group_id=str(group).strip()) for group in security_groups or [] if str(group).strip()]
    return rules
