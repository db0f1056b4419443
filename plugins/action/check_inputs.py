# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action obi.hpc_provisioner.check_inputs (documented in plugins/modules/check_inputs.py).

Written by hand: ansible.builtin.assert checks conditions, but one failure message names no field, and a loop of
asserts (one item per field, as the playbooks had) runs the action and templates the task again for each item, some
10 ms an item: a create's 30-odd checks cost 0.25 s. This runs them all in one task, on the controller, and returns
each refused field (``fields``) besides the messages, for the playbooks' error records.
"""

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

CHECK_KEYS = frozenset(("field", "ok", "message", "value", "allowed"))


def refusal(check, index):
    """The message of a check that failed, or None when it passed. Malformed checks raise, naming the item."""
    unknown = sorted(set(check) - CHECK_KEYS)
    if unknown or "ok" not in check:
        raise AnsibleActionFail("checks[%d]: %s; a check has the keys ok (required), field, message, value, allowed"
                                % (index, "unknown key(s) " + ", ".join(unknown) if unknown else "no key ok"))
    try:
        if boolean(check["ok"], strict=True):
            return None
    except TypeError:
        raise AnsibleActionFail("checks[%d].ok: %r is not valid: true or false" % (index, check["ok"])) from None
    if check.get("message"):
        text = str(check["message"])
    else:
        text = "%s is not valid: %s" % (json.dumps(str(check.get("value", ""))), check.get("allowed") or "refused")
    return "%s: %s" % (check["field"], text) if check.get("field") else text


class ActionModule(ActionBase):
    """Fail naming every refused input, in one task."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("checks", "prefix"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec={
            "checks": {"type": "list", "elements": "dict", "required": True},
            "prefix": {"type": "str", "default": ""},
        })[1]
        messages, fields = [], []
        for index, check in enumerate(args["checks"]):
            message = refusal(check, index)
            if message is not None:
                messages.append(args["prefix"] + message)
                if check.get("field") and check["field"] not in fields:
                    fields.append(check["field"])
        result.update(changed=False, checked=len(args["checks"]))
        if messages:
            result.update(failed=True, msg="; ".join(messages), fields=fields)
        else:
            result["msg"] = "all %d checks passed" % len(args["checks"])
        return result
