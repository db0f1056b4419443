#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: check_inputs
version_added: 0.1.0
short_description: Check every input of a request in one task, and fail naming each one refused
description:
  - Evaluates a list of checks on the controller (no module process, no AWS call) and fails when any is refused, with
    one message per refused check, naming its field, the value and what is allowed.
  - The lifecycle and operation playbooks and the M(obi.hpc_provisioner.cluster_config) role check their inputs with
    it before any AWS write. Unlike a loop of M(ansible.builtin.assert) (one item per field), it is one task, and its
    result names the refused fields (RV(fields)) for error records.
  - This is an action plugin; it runs on the controller whatever the connection.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  checks:
    description:
      - The checks, in order. Each is a dict with the keys below; any other key is an error.
      - V(ok) (required, boolean) whether the input is accepted.
      - V(field) (string) the input the check is about, as the user names it (several, comma-separated, when a rule
        ties them); it starts the message and goes into RV(fields).
      - V(message) (string) the message when refused. Without it, the message is the value, as JSON, then
        C(is not valid:) and V(allowed).
      - V(value) the value checked (shown as a JSON string); V(allowed) (string) what would be accepted.
    type: list
    elements: dict
    required: true
  prefix:
    description:
      - Text put before each message (for example the name of a role).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Reads and checks only; the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so it has no diff.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
notes:
  - Checks that depend on an earlier one should pass when the earlier one fails, so that only the first message
    applies.
seealso:
  - module: ansible.builtin.assert
"""

EXAMPLES = r"""
- name: Check the request
  obi.hpc_provisioner.check_inputs:
    checks:
      - field: tier
        value: "{{ tier }}"
        ok: "{{ tier in ['debug', 'small', 'large'] }}"
        allowed: one of debug, small, large
      - field: wait_timeout
        value: "{{ wait_timeout }}"
        ok: "{{ wait_timeout | string is match('^[0-9]+$') }}"
        allowed: a whole number of seconds
# tier=huge fails with: tier: "huge" is not valid: one of debug, small, large

- name: A message of its own
  obi.hpc_provisioner.check_inputs:
    prefix: "cluster_config: "
    checks:
      - field: cluster_config_subnet_id
        ok: "{{ cluster_config_subnet_id is match('^subnet-') }}"
        message: the subnet must be a subnet id
"""

RETURN = r"""
msg:
  description: The messages of the refused checks, joined with C(; ), or how many checks passed.
  returned: always
  type: str
  sample: 'tier: "huge" is not valid: one of debug, small, large; wait_timeout: "soon" is not valid: a whole number of seconds'
fields:
  description: The V(field) of each refused check, in order, each once.
  returned: failure
  type: list
  elements: str
  sample: [tier, wait_timeout]
checked:
  description: How many checks were evaluated.
  returned: always
  type: int
  sample: 18
"""
