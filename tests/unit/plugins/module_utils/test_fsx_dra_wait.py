"""Unit tests of module_utils/fsx_wait.py: backoff, one deadline per run, the last poll at the deadline."""
# pylint: disable=missing-function-docstring  # test names say what they check

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0] or str(Path(__file__).resolve().parents[4] / ".build" / "collections"))

# pylint: disable=wrong-import-position
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_wait import Deadline  # noqa: E402
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_wait import WaitTimeout  # noqa: E402


class FakeClock:
    """Time that passes only when the code under test sleeps; records each pause."""

    def __init__(self):
        self.now = 100.0
        self.pauses = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0, "never a busy loop"
        self.pauses.append(seconds)
        self.now += seconds


def deadline(timeout, clock):
    return Deadline(timeout, clock=clock, sleep=clock.sleep)


def test_settled_at_once_neither_sleeps_nor_polls():
    clock = FakeClock()
    waiting = deadline(60, clock)
    assert waiting.until(lambda: pytest.fail("no poll"), lambda s: s == "AVAILABLE", "AVAILABLE") == "AVAILABLE"
    assert clock.pauses == [] and waiting.waited == 0


def test_polls_back_off_from_one_second_to_thirty():
    clock = FakeClock()
    states = iter(["CREATING"] * 8 + ["AVAILABLE"])
    waiting = deadline(3600, clock)
    assert waiting.until(lambda: next(states), lambda s: s == "AVAILABLE", "CREATING") == "AVAILABLE"
    assert clock.pauses == [1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert waiting.waited == sum(clock.pauses) and waiting.polls == 9


def test_timeout_polls_once_more_at_the_deadline_and_carries_the_last_state():
    clock = FakeClock()
    waiting = deadline(5, clock)
    with pytest.raises(WaitTimeout) as caught:
        waiting.until(lambda: {"Lifecycle": "CREATING", "poll": len(clock.pauses)}, lambda s: False, None)
    assert clock.pauses == [1, 2, 2]  # the last pause is cut to the deadline, and a poll follows it
    assert caught.value.last == {"Lifecycle": "CREATING", "poll": 3}
    assert waiting.waited == 5


def test_a_transition_ending_in_the_last_pause_is_not_a_timeout():
    clock = FakeClock()
    waiting = deadline(4, clock)
    assert waiting.until(lambda: "AVAILABLE" if clock.now >= 104 else "CREATING", lambda s: s == "AVAILABLE",
                         "CREATING") == "AVAILABLE"


def test_the_deadline_covers_every_wait_of_the_run():
    clock = FakeClock()
    waiting = deadline(10, clock)
    states = iter(["DELETING", None])
    waiting.until(lambda: next(states), lambda s: s is None, "DELETING")  # 1 + 2 s
    with pytest.raises(WaitTimeout):
        waiting.until(lambda: "CREATING", lambda s: s == "AVAILABLE", "CREATING")
    assert waiting.waited == 10 and waiting.remaining() == 0
