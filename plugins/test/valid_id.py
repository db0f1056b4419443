# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's test valid_id: whether a value is an id of a kind (vlab_id, fsx_file_system_id, subnet_id, ...),
by module_utils/names.py's rule for that kind, the one the modules use too (the filter id_rule says it in words)."""

from ansible.errors import AnsibleError

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names


def valid_id(value, kind):
    try:
        return names.is_valid_id(value, kind)
    except ValueError as error:
        raise AnsibleError(f"valid_id: {error}") from None


class TestModule:
    """The collection's tests."""

    def tests(self):
        return {"valid_id": valid_id}
