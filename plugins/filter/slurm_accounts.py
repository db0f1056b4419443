# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""slurm_accounts_missing: what the slurm_accounting role adds to a cluster's account tree (vlab -> project -> users),
from the associations sacctmgr lists and the wanted projects, in Python rather than in a Jinja template."""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _associations(lines):
    """The accounts and the (account, user) pairs in rows of ``list associations format=Account,User,ParentName``
    (parseable: fields separated by '|'); an account's own association has no user."""
    accounts, users = set(), set()
    for line in lines:
        if not line:
            continue
        fields = line.split("|")
        user = fields[1] if len(fields) > 1 else ""
        if user:
            users.add((fields[0], user))
        else:
            accounts.add(fields[0])
    return accounts, users


def slurm_accounts_missing(lines, projects):
    """The vlab accounts, project accounts and users of ``projects`` that the associations ``lines`` lack."""
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError("slurm_accounts_missing: the input must be the lines sacctmgr printed (stdout_lines)")
    accounts, users = _associations(lines)
    missing = {"vlabs": [], "projects": [], "users": []}
    for project in projects:
        if not isinstance(project, Mapping) or "vlab_id" not in project or "project_id" not in project:
            raise AnsibleFilterError(f"slurm_accounts_missing: each project needs vlab_id and project_id, got {project!r}")
        vlab = str(project["vlab_id"]).lower()
        account = str(project["project_id"]).lower()
        if vlab not in accounts and vlab not in missing["vlabs"]:
            missing["vlabs"].append(vlab)
        if account not in accounts:
            missing["projects"].append({"vlab": vlab, "project": account})
        for user in project.get("users") or []:
            if (account, user) not in users:
                missing["users"].append({"project": account, "user": user})
    return missing


class FilterModule:
    """The Slurm accounting filters."""

    def filters(self):
        return {"slurm_accounts_missing": slurm_accounts_missing}
