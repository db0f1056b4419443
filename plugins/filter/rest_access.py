# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Slurm REST API's filters, with module_utils/jwks.py's rules: rest_access_error (who may reach a cluster's REST
API: at least one CIDR block or security group, none open to the whole internet), rest_ingress_rules (those sources as
the REST port's security group rules) and rs256_jwks (a JWKS reduced to the
RS256 signing keys that Slurm reads, as the module jwks_info returns it, for a JWKS given directly)."""

from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.jwks import JwksError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.jwks import rest_access_error as _rest_access_error
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.jwks import rest_ingress_rules
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.jwks import rs256_jwks as _rs256_jwks


def rest_access_error(cidrs, security_groups=None, cidr_field="allowed_cidrs", sg_field="allowed_security_groups"):
    if cidrs is None:
        cidrs = []
    if not isinstance(cidrs, (list, tuple, str)):
        raise AnsibleFilterError(f"rest_access_error: {cidr_field} must be a list, got {type(cidrs).__name__}")
    return _rest_access_error(cidrs, security_groups or [], cidr_field, sg_field)


def rs256_jwks(document, field="jwks"):
    try:
        return _rs256_jwks(document, field)
    except JwksError as error:
        raise AnsibleFilterError(str(error)) from None


class FilterModule:
    """The Slurm REST API's filters."""

    def filters(self):
        return {"rest_access_error": rest_access_error, "rest_ingress_rules": rest_ingress_rules, "rs256_jwks": rs256_jwks}
