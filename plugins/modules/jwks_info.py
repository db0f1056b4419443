#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: jwks_info
version_added: 0.1.0
short_description: Fetch and check the JWKS that a cluster's Slurm REST API verifies tokens with
description:
  - Reads the OpenID discovery document of a Keycloak realm (C(<realm_url>/.well-known/openid-configuration)),
    checks that its issuer is the realm, then reads its C(jwks_uri) (Keycloak's C(protocol/openid-connect/certs));
    or takes a JWKS given directly.
  - Returns the JWKS to deliver to the cluster (role M(obi.hpc_provisioner.slurm_rest) via C(slurm_rest_jwks)),
    reduced to the RS256 signing keys, each with C(kty), C(kid), C(use), C(alg), C(n) and C(e) (Slurm 22.05 ignores
    a key without C(alg=RS256), so the algorithm is written out).
  - Refuses, naming the option, an invalid or unreachable URL, a discovery document without issuer or C(jwks_uri) or
    naming another issuer, a JWKS that is not JSON, holds a private key, or has no RS256 signing key of at least
    2048 bits.
  - Runs where the playbook runs it, the controller (the cluster has no internet access). It never writes anything.
  - Not an AWS module, so not in the collection's C(aws) action group.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  realm_url:
    description:
      - The Keycloak realm, for example C(https://keycloak.example.org/realms/SBO); https, or http to C(127.0.0.1)
        only (a test provider).
      - Exactly one of O(realm_url) and O(jwks) is required.
    type: str
  jwks:
    description:
      - A JWKS given directly (a dict, or its JSON text), instead of fetching it from O(realm_url).
    type: raw
  timeout:
    description: Seconds to wait for each of the two requests.
    type: int
    default: 10
  validate_certs:
    description: Verify the TLS certificates of the realm.
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify the realm's certificate with, instead of the system's.
    type: path
  use_proxy:
    description: Use the proxy of the environment (C(https_proxy), C(no_proxy)) to reach the realm.
    type: bool
    default: true
notes:
  - Supports check mode (it only reads).
  - The JWKS holds public keys only; it is not a secret.
"""

EXAMPLES = r"""
- name: Fetch the realm's signing keys on the controller
  obi.hpc_provisioner.jwks_info:
    realm_url: https://keycloak.example.org/realms/SBO
  delegate_to: localhost
  run_once: true
  register: realm_jwks

- name: Deliver them to the head node
  ansible.builtin.include_role:
    name: obi.hpc_provisioner.slurm_rest
  vars:
    slurm_rest_jwks: "{{ realm_jwks.jwks }}"
"""

RETURN = r"""
jwks:
  description: The JWKS for Slurm, with the RS256 signing keys only.
  returned: success
  type: dict
  sample: {"keys": [{"kty": "RSA", "kid": "x2Fk...", "use": "sig", "alg": "RS256", "n": "0vx7...", "e": "AQAB"}]}
kids:
  description: The key ids of the RS256 keys kept, in the order of the JWKS.
  returned: success
  type: list
  elements: str
issuer:
  description: The realm's issuer (the C(iss) of its tokens); empty for a JWKS given directly.
  returned: success
  type: str
jwks_uri:
  description: Where the JWKS was read; empty for a JWKS given directly.
  returned: success
  type: str
source:
  description: C(realm) or C(given).
  returned: success
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import jwks as jwks_utils


def fetch_json(module, field, url):
    """The JSON document at ``url``; fail_json naming ``field`` when unreachable, not 200 or not JSON."""
    response, info = fetch_url(module, url, method="GET", headers={"Accept": "application/json"},
                               timeout=module.params["timeout"], ca_path=module.params["ca_path"])
    status = info.get("status", -1)
    if response is None or status != 200:
        reason = info.get("msg") or "no answer"
        if status and status > 0:
            reason = f"HTTP {status} ({reason})"
        module.fail_json(msg=f"{field}: cannot read {url}: {reason}", field=field, url=url)
    body = response.read()
    try:
        return json.loads(body)
    except ValueError:
        module.fail_json(msg=f"{field}: {url} did not return JSON", field=field, url=url)
    return None  # not reached


def main():
    module = AnsibleModule(
        argument_spec={
            "realm_url": {"type": "str"},
            "jwks": {"type": "raw"},
            "timeout": {"type": "int", "default": 10},
            "validate_certs": {"type": "bool", "default": True},
            "ca_path": {"type": "path"},
            "use_proxy": {"type": "bool", "default": True},
        },
        mutually_exclusive=[("realm_url", "jwks")],
        required_one_of=[("realm_url", "jwks")],
        supports_check_mode=True,
    )
    issuer = jwks_uri = ""
    try:
        if module.params["jwks"] is not None:
            source = "given"
            document = module.params["jwks"]
            field = "jwks"
        else:
            source = "realm"
            realm_url = jwks_utils.check_url("realm_url", module.params["realm_url"])
            discovery = fetch_json(module, "realm_url", jwks_utils.discovery_url(realm_url))
            issuer, jwks_uri = jwks_utils.check_discovery(discovery, realm_url)
            document = fetch_json(module, "jwks_uri", jwks_uri)
            field = "jwks_uri"
        jwks = jwks_utils.rs256_jwks(document, field=field)
    except jwks_utils.JwksError as error:
        module.fail_json(msg=str(error), field=error.field)
    if jwks_utils.rsa is None:
        module.warn("the Python library cryptography is missing: RSA keys were checked for their size only")
    module.exit_json(changed=False, jwks=jwks, kids=[key["kid"] for key in jwks["keys"]], issuer=issuer,
                     jwks_uri=jwks_uri, source=source)


if __name__ == "__main__":
    main()
