# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The lifecycle playbooks' checks of what their one read found, as checks of obi.hpc_provisioner.check_inputs:
owner_check (a resource of the project's names that carries another project's cost tags, module_utils/tags.py's rule,
which project_teardown applies too) and reference_check (something the request names that does not exist).

Each returns a check (``{ok, message}``, ``{field, value, ok, allowed}``): one check_inputs task over a list of them
checks everything, each failure with its own message.
"""

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import owner_error


def owner_check(owned, vlab_id, project_id):
    """``owned``: ``{key: what, value: its tags}`` (an item of dict2items)."""
    error = owner_error(owned["key"], owned["value"], vlab_id, project_id)
    return {"ok": error is None, "message": error or ""}


def reference_check(reference, missing, region):
    """``reference``: ``{field, kind, id}``; ``missing``: reference_info's ``missing`` ([{kind, id}])."""
    absent = any(m["kind"] == reference["kind"] and m["id"] == reference["id"] for m in missing)
    return {"field": reference["field"], "value": reference["id"], "ok": not absent,
            "allowed": f"no such {reference['kind'].replace('_', ' ')} in {region}"}


class FilterModule:
    """The lifecycle playbooks' checks."""

    def filters(self):
        return {"owner_check": owner_check, "reference_check": reference_check}
