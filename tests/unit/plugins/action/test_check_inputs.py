"""plugins/action/check_inputs.py: every check in one task; the failure names each refused field, its value and what
is allowed, and a malformed check is refused naming its index."""
# pylint: disable=missing-function-docstring  # test names say what they check

import re
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.obi.hpc_provisioner.plugins.action.check_inputs import ActionModule


def run(**args):
    task = MagicMock(args=args, async_val=0, check_mode=False, diff=False)
    action = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return action.run(task_vars={})


def test_every_refused_field_is_named_with_its_value_and_what_is_allowed():
    result = run(checks=[
        {"field": "tier", "value": "huge", "ok": False, "allowed": "one of debug, small"},
        {"field": "wait", "value": "yes", "ok": True, "allowed": "a boolean"},
        {"field": "vlab_id, project_id", "ok": "False", "message": "no cluster for them"},
        {"ok": False, "message": "cluster c belongs to another project"},
        {"field": "tier", "value": "huge", "ok": False, "allowed": "not huge"},
    ])
    assert result["failed"] is True and result["checked"] == 5
    assert result["msg"] == ('tier: "huge" is not valid: one of debug, small; vlab_id, project_id: no cluster for them; '
                             'cluster c belongs to another project; tier: "huge" is not valid: not huge')
    assert result["fields"] == ["tier", "vlab_id, project_id"]


def test_all_passing_checks_pass_and_change_nothing():
    result = run(checks=[{"field": "tier", "value": "debug", "ok": True}, {"ok": "true"}], prefix="role: ")
    assert not result.get("failed") and result["changed"] is False
    assert result["msg"] == "all 2 checks passed" and "fields" not in result


def test_the_prefix_starts_each_message_and_values_are_json_strings():
    result = run(checks=[{"field": "a", "value": 'x"y', "ok": False, "allowed": "z"}, {"field": "b", "value": 3, "ok": 0}],
                 prefix="cluster_config: ")
    assert result["msg"] == 'cluster_config: a: "x\\"y" is not valid: z; cluster_config: b: "3" is not valid: refused'


@pytest.mark.parametrize("check, message", [
    ({"field": "a"}, "checks[0]: no key ok; a check has the keys ok (required), field, message, value, allowed"),
    ({"ok": True, "what": "x"}, "checks[0]: unknown key(s) what; a check has the keys"),
    ({"ok": "maybe"}, "checks[0].ok: 'maybe' is not valid: true or false"),
])
def test_a_malformed_check_is_refused_naming_it(check, message):
    with pytest.raises(AnsibleActionFail, match="^" + re.escape(message)):
        run(checks=[check])


def test_checks_are_required():
    with pytest.raises(AnsibleActionFail, match="missing required arguments: checks"):
        run(prefix="x")
