# -*- coding: utf-8 -*-
# Copyright: Contributors to the obi.hpc_provisioner project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of this collection's modules (meta/runtime.yml routes each to it): plugin_utils/in_process.py."""
from __future__ import annotations

from ansible_collections.obi.hpc_provisioner.plugins.plugin_utils.in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    pass
