"""Unit tests of plugins/module_utils/run.py, the base of the modules' runs (KeypairRun, DraRun, ClusterRun).

That each Run maps every outcome of its plan to a method: tests/unit/plugins/modules/test_run_steps.py.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run


class FakeModule:
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff
        self.params = {"name": "n"}


class Sample(Run):
    """A run with two steps, recording what its operations were called with."""

    def __init__(self, module):
        super().__init__(module)
        self.calls = []

    def _write(self, value):
        self.calls.append(value)
        return f"wrote {value}"

    def _first(self, value):
        return self._act("first", self._write, value)

    def _second(self, value):
        return self._act("second", self._write, value * 2)

    STEPS = {"first": _first, "second": _second}


def test_an_action_is_recorded_and_performed():
    run = Sample(FakeModule())
    assert run._act("write", run._write, 1) == "wrote 1"
    assert run.calls == [1] and run.actions == ["write"] and run.changed


def test_in_check_mode_an_action_is_recorded_only():
    run = Sample(FakeModule(check_mode=True))
    assert run.check_mode and run._act("write", run._write, 1) is None
    assert run.calls == [] and run.actions == ["write"] and run.changed


def test_a_run_without_actions_changed_nothing():
    run = Sample(FakeModule())
    assert not run.changed and run.outcome() == {"changed": False, "actions": []}


def test_steps_go_to_the_method_mapped_to_them_in_order():
    run = Sample(FakeModule())
    assert [run._step(step, 3) for step in ("second", "first")] == ["wrote 6", "wrote 3"]
    assert run.actions == ["second", "first"] and run.calls == [6, 3]


def test_a_step_without_a_method_is_an_error_naming_it():
    with pytest.raises(KeyError, match="third"):
        Sample(FakeModule())._step("third")


def test_the_report_has_the_outcome_and_the_values():
    run = Sample(FakeModule())
    run._step("first", 1)
    assert run.report(thing={"id": 1}) == {"changed": True, "actions": ["first"], "thing": {"id": 1}}


def test_the_diff_is_reported_in_diff_mode_only():
    for diff_mode, reported in ((True, True), (False, False)):
        run = Sample(FakeModule(diff=diff_mode))
        run._set_diff({"a": 1}, {"a": 2})
        assert ("diff" in run.report()) is reported
        if reported:
            assert run.report()["diff"] == {"before": {"a": 1}, "after": {"a": 2}}


def test_no_diff_is_reported_when_the_run_has_none():
    assert "diff" not in Sample(FakeModule(diff=True)).report()
