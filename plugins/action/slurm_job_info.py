# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action of obi.hpc_provisioner.slurm_job_info:
the module runs inside Ansible's task worker when it can (plugin_utils/in_process.py)."""

from ansible_collections.obi.hpc_provisioner.plugins.plugin_utils.in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    """InProcessModuleAction, found by the module's name."""
