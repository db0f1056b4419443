# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every module built on module_utils/run.py returns, failures included: whether it changed anything, and what."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    # A module's own `actions` entry adds its description (the items it can hold) and sample to these.
    RETURN = r"""
changed:
  description: Whether anything was (or, in check mode, would be) changed.
  returned: always
  type: bool
  sample: true
actions:
  description: What the module did (or would do in check mode), in order; empty when nothing changed.
  returned: always
  type: list
  elements: str
"""
