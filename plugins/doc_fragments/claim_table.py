# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options of the modules that work on one cluster's items in the subnet claim table."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  table:
    description: The DynamoDB subnet claim table (hash key C(subnet_id)).
    type: str
    required: true
  cluster:
    description: The cluster's name (the claim's owner, also its CloudFormation stack name).
    type: str
    required: true
"""
