# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's filters: project_names, project_group, key_names and cluster_resource_names (the names of one project's resources, module_utils/
names.py's rule, so that the playbooks and roles compute them in one place instead of in Jinja), id_rule (what an id of
a kind is, in words, for the messages of the test obi.hpc_provisioner.valid_id) and ssh_public_key_error
(module_utils/ssh_public_key.py: a public key parsed for real, weak keys refused)."""

from ansible.errors import AnsibleFilterError

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.ssh_public_key import public_key_error


def project_names(vlab_id, project_id, accounting="off", cluster=None):
    for field, value in (("vlab_id", vlab_id), ("project_id", project_id)):
        error = names.id_error(field, value)
        if error:
            raise AnsibleFilterError(f"project_names: {error}")
    return names.project_names(vlab_id, project_id, accounting, cluster)


def id_rule(kind):
    try:
        return names.id_rule(kind)
    except ValueError as error:
        raise AnsibleFilterError(f"id_rule: {error}") from None


def ssh_public_key_error(line):
    return public_key_error(line)


class FilterModule:
    """The collection's filters."""

    def filters(self):
        return {"project_names": project_names, "ssh_public_key_error": ssh_public_key_error, "id_rule": id_rule,
                "project_group": names.project_group, "key_names": names.key_names,
                "cluster_resource_names": names.cluster_resource_names}
