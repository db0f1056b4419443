# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rest_access_error: who may reach a cluster's Slurm REST API (module_utils/jwks.py's rule), for the lifecycle's
preflight: at least one CIDR block or security group, none of them open to the whole internet."""

from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.jwks import rest_access_error as _rest_access_error


def rest_access_error(cidrs, security_groups=None, cidr_field="allowed_cidrs", sg_field="allowed_security_groups"):
    if cidrs is None:
        cidrs = []
    if not isinstance(cidrs, (list, tuple, str)):
        raise AnsibleFilterError(f"rest_access_error: {cidr_field} must be a list, got {type(cidrs).__name__}")
    return _rest_access_error(cidrs, security_groups or [], cidr_field, sg_field)


class FilterModule:
    """The REST API access filter."""

    def filters(self):
        return {"rest_access_error": rest_access_error}
