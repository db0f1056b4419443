"""Unit tests of module_utils/jwks.py: realm URLs, discovery documents, the JWKS delivered to Slurm, REST access."""
# pylint: disable=missing-function-docstring  # test names say what they check

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import jwks as j


def b64url(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(kid="k1", bits=2048, **extra):
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": b64url(numbers.n), "e": b64url(numbers.e), **extra}


@pytest.fixture(scope="module")
def key():
    return rsa_jwk("k1", alg="RS256", use="sig", x5c=["MIIC..."], x5t="abc")


@pytest.mark.parametrize("url", ["https://keycloak.example.org/realms/SBO", "https://kc.example.org:8443/realms/a-b/",
                                 "http://127.0.0.1:28473", "https://[2001:db8::1]/realms/x"])
def test_urls_accepted(url):
    assert j.check_url("realm_url", url) == url


@pytest.mark.parametrize("url, words", [
    ("", "is required"),
    (None, "is required"),
    ("keycloak.example.org/realms/SBO", "not a valid URL"),
    ("ftp://keycloak.example.org/realms/SBO", "not a valid URL"),
    ("https://user:pw@keycloak.example.org/realms/SBO", "not a valid URL"),
    ("https://keycloak.example.org/realms/SBO?x=1", "not a valid URL"),
    ("https://keycloak.example.org/realms/SBO#frag", "not a valid URL"),
    ("https://keycloak.example.org:99999/realms/SBO", "not a valid URL"),
    ("http://keycloak.example.org/realms/SBO", "must use https"),
    ("http://localhost:8080/realms/SBO", "must use https"),
    ("http://10.0.0.5/realms/SBO", "must use https"),
])
def test_urls_refused(url, words):
    with pytest.raises(j.JwksError) as error:
        j.check_url("realm_url", url)
    assert error.value.field == "realm_url"
    assert str(error.value).startswith("realm_url: ") and words in str(error.value)


def test_discovery_url():
    assert j.discovery_url("https://kc.example.org/realms/SBO/") == \
        "https://kc.example.org/realms/SBO/.well-known/openid-configuration"


def test_discovery_document():
    realm = "https://kc.example.org/realms/SBO"
    issuer, jwks_uri = j.check_discovery({"issuer": realm, "jwks_uri": realm + "/protocol/openid-connect/certs"}, realm + "/")
    assert issuer == realm and jwks_uri.endswith("/protocol/openid-connect/certs")


@pytest.mark.parametrize("document, words", [
    ([], "did not return a JSON object"),
    ({"jwks_uri": "https://kc.example.org/certs"}, "has no issuer"),
    ({"issuer": "https://kc.example.org/realms/OTHER", "jwks_uri": "https://kc.example.org/certs"}, "another issuer"),
    ({"issuer": "https://kc.example.org/realms/SBO"}, "has no jwks_uri"),
])
def test_discovery_refused(document, words):
    with pytest.raises(j.JwksError) as error:
        j.check_discovery(document, "https://kc.example.org/realms/SBO")
    assert error.value.field == "realm_url" and words in str(error.value)


def test_discovery_jwks_uri_must_be_https():
    with pytest.raises(j.JwksError) as error:
        j.check_discovery({"issuer": "https://kc.example.org/realms/SBO", "jwks_uri": "http://kc.example.org/certs"},
                          "https://kc.example.org/realms/SBO")
    assert error.value.field == "jwks_uri"


def test_jwks_keeps_rs256_signing_keys_only(key):
    enc = rsa_jwk("enc", alg="RSA-OAEP", use="enc")
    ps = rsa_jwk("ps", alg="PS256")
    ec_numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    ec_key = {"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64url(ec_numbers.x), "y": b64url(ec_numbers.y)}
    hmac = {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}
    verify_only = rsa_jwk("ops-enc", key_ops=["encrypt"])
    result = j.rs256_jwks({"keys": [enc, key, ps, ec_key, hmac, verify_only]})
    assert result == {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": key["n"], "e": key["e"]}]}


def test_jwks_key_without_alg_or_use_is_written_out_as_rs256():
    bare = rsa_jwk("bare")  # what oidc-provider-mock publishes
    assert j.rs256_jwks(json.dumps({"keys": [bare]}))["keys"][0] == {
        "kty": "RSA", "kid": "bare", "use": "sig", "alg": "RS256", "n": bare["n"], "e": bare["e"]}


def test_jwks_text_and_bytes(key):
    assert j.rs256_jwks(json.dumps({"keys": [key]}).encode())["keys"][0]["kid"] == "k1"


@pytest.mark.parametrize("document, words", [
    ("{not json", "is not JSON"),
    ([], "is not a JWKS"),
    ({"keys": {}}, "is not a JWKS"),
    ({"keys": []}, "has no RS256 signing key"),
    ({"keys": [{"kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "kid": "x", "n": "AQAB", "e": "AQAB"}]}, "has no RS256"),
    ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "has no RS256 signing key"),
])
def test_jwks_refused(document, words):
    with pytest.raises(j.JwksError) as error:
        j.rs256_jwks(document, field="jwks")
    assert error.value.field == "jwks" and words in str(error.value)


def test_jwks_refuses_short_rsa_key():
    with pytest.raises(j.JwksError, match="fewer than 2048"):
        j.rs256_jwks({"keys": [rsa_jwk("short", bits=1024)]})


def test_jwks_refuses_missing_or_bad_kid(key):
    for kid in (None, "", "with space", "tab\there", "é"):
        broken = dict(key, kid=kid) if kid is not None else {k: v for k, v in key.items() if k != "kid"}
        with pytest.raises(j.JwksError, match="kid"):
            j.rs256_jwks({"keys": [broken]})


def test_jwks_refuses_broken_modulus(key):
    with pytest.raises(j.JwksError, match="key 0: n is not base64url"):
        j.rs256_jwks({"keys": [dict(key, n="not base64!")]})
    with pytest.raises(j.JwksError, match="key 0"):
        j.rs256_jwks({"keys": [dict(key, e="AA")]})  # e = 0 is no RSA key


def test_jwks_refuses_duplicate_kid(key):
    with pytest.raises(j.JwksError, match="appears twice"):
        j.rs256_jwks({"keys": [key, dict(key)]})


def test_jwks_refuses_private_key(key):
    with pytest.raises(j.JwksError, match="private key"):
        j.rs256_jwks({"keys": [dict(key, d="AQAB")]}, field="jwks_uri")


@pytest.mark.parametrize("cidrs, groups", [
    (["10.0.0.0/16"], []), (["192.0.2.10/32", "2001:db8::/64"], []), ([], ["sg-0123456789abcdef0"]),
    ([], ["sg-01234567"]), (["10.0.1.0/24"], ["sg-0123456789abcdef0"]),
])
def test_rest_access_accepted(cidrs, groups):
    assert j.rest_access_error(cidrs, groups) is None


@pytest.mark.parametrize("cidrs, groups, words", [
    ([], [], "allowed_cidrs or allowed_security_groups is required"),
    ([""], [" "], "is required"),
    (None, None, "is required"),
    (["0.0.0.0/0"], [], "whole internet"),
    (["::/0"], [], "whole internet"),
    (["10.0.0.0/16", "0.0.0.0/0"], [], "'0.0.0.0/0' opens slurmrestd"),
    (["10.0.0.5/16"], [], "host bits set"),
    (["10.0.0.5"], [], "needs its prefix length"),
    (["10.0.0.0/33"], [], "is not a CIDR block"),
    (["not-a-cidr"], [], "is not a CIDR block"),
    ([], ["sg-xyz"], "is not a security group id"),
    ([], ["default"], "is not a security group id"),
    ("10.0.0.0/16", [], "are lists"),
])
def test_rest_access_refused(cidrs, groups, words):
    error = j.rest_access_error(cidrs, groups)
    assert error and words in error


def test_rest_access_names_the_fields():
    error = j.rest_access_error(["0.0.0.0/0"], [], "hpc_slurm_rest_allowed_cidrs", "hpc_slurm_rest_allowed_security_groups")
    assert error.startswith("hpc_slurm_rest_allowed_cidrs: '0.0.0.0/0'")
    assert "hpc_slurm_rest_allowed_cidrs or hpc_slurm_rest_allowed_security_groups" in j.rest_access_error(
        [], [], "hpc_slurm_rest_allowed_cidrs", "hpc_slurm_rest_allowed_security_groups")
