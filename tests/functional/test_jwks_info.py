"""Unit tests of jwks_info: main() against a realm served over HTTP on 127.0.0.1 (discovery document and JWKS)."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.obi.hpc_provisioner.plugins.modules import jwks_info
from oidc_realm import Realm, rsa_jwk


@pytest.fixture(scope="module")
def realm():
    served = Realm()
    yield served
    served.server.shutdown()


@pytest.fixture(scope="module")
def keys():
    return [rsa_jwk("sig-1", alg="RS256", use="sig"), rsa_jwk("enc-1", alg="RSA-OAEP", use="enc")]


@pytest.fixture
def run(capsys):
    def run_module(**args):
        with patch_module_args(dict(args, _ansible_check_mode=False)), pytest.raises(SystemExit):
            jwks_info.main()
        return json.loads(capsys.readouterr().out)

    return run_module


def test_fetches_discovery_then_jwks(realm, keys, run):
    realm_url = realm.serve(keys=keys)
    result = run(realm_url=realm_url)
    assert not result.get("failed") and result["changed"] is False
    assert result["issuer"] == realm_url and result["jwks_uri"] == realm_url + "/protocol/openid-connect/certs"
    assert result["kids"] == ["sig-1"] and result["source"] == "realm"
    assert result["jwks"]["keys"][0] == {"kty": "RSA", "kid": "sig-1", "use": "sig", "alg": "RS256",
                                         "n": keys[0]["n"], "e": keys[0]["e"]}


def test_given_jwks(keys, run):
    result = run(jwks=json.dumps({"keys": keys}))
    assert result["source"] == "given" and result["kids"] == ["sig-1"] and result["issuer"] == ""
    assert run(jwks={"keys": keys})["kids"] == ["sig-1"]


def test_unreachable_realm(run):
    result = run(realm_url="http://127.0.0.1:9/realms/SBO", timeout=2)
    assert result["failed"] and result["field"] == "realm_url"
    assert result["msg"].startswith("realm_url: cannot read http://127.0.0.1:9/realms/SBO/.well-known/openid-configuration")


def test_unknown_realm(realm, run):
    result = run(realm_url=realm.url + "/realms/NOPE")
    assert result["failed"] and result["field"] == "realm_url" and "HTTP 404" in result["msg"]


def test_not_json(realm, run):
    realm.routes["/realms/TEXT/.well-known/openid-configuration"] = (200, "<html>login</html>")
    result = run(realm_url=realm.url + "/realms/TEXT")
    assert result["failed"] and result["msg"] == (
        f"realm_url: {realm.url}/realms/TEXT/.well-known/openid-configuration did not return JSON")


def test_other_issuer(realm, keys, run):
    realm_url = realm.serve("/realms/OTHER", issuer="https://elsewhere.example.org/realms/SBO", keys=keys)
    result = run(realm_url=realm_url)
    assert result["failed"] and "names another issuer" in result["msg"]


def test_no_rs256_key(realm, keys, run):
    realm_url = realm.serve("/realms/ENC", keys=[keys[1]])
    result = run(realm_url=realm_url)
    assert result["failed"] and result["field"] == "jwks_uri" and "has no RS256 signing key" in result["msg"]


def test_http_elsewhere_refused(run):
    result = run(realm_url="http://keycloak.example.org/realms/SBO")
    assert result["failed"] and result["field"] == "realm_url" and "must use https" in result["msg"]


def test_one_of_realm_or_jwks(keys, run):
    assert "one of the following is required" in run()["msg"]
    assert "mutually exclusive" in run(realm_url="https://kc.example.org/realms/SBO", jwks={"keys": keys})["msg"]


def test_given_jwks_without_rs256(run):
    result = run(jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    assert result["failed"] and result["field"] == "jwks" and result["msg"].startswith("jwks: has no RS256 signing key")
