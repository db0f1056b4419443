"""plugins/module_utils/waiting.py: polling with backoff under one deadline per run, on a fake clock."""

import itertools

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import backoff_delays


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


def test_backoff_grows_by_half_up_to_the_longest_pause():
    assert list(itertools.islice(backoff_delays(1.0, 4.0), 6)) == [1.0, 1.5, 2.25, 3.375, 4.0, 4.0]
    assert list(itertools.islice(backoff_delays(1.0, 15.0, growth=2), 6)) == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert list(itertools.islice(backoff_delays(1.0, 0.5), 3)) == [0.5, 0.5, 0.5]


def test_settled_at_once_neither_sleeps_nor_reads():
    clock = FakeClock()
    waiting = deadline(60, clock)
    assert waiting.until(lambda: pytest.fail("no read"), lambda s: s == "AVAILABLE", "create", 30,
                         current="AVAILABLE") == "AVAILABLE"
    assert clock.pauses == [] and waiting.waited == 0


def test_every_reading_is_recorded_with_its_elapsed_time():
    clock = FakeClock()
    waiting = deadline(60, clock)
    statuses = iter(["CREATE_IN_PROGRESS"] * 3 + ["CREATE_COMPLETE"])
    assert waiting.until(lambda: next(statuses), lambda s: s.endswith("COMPLETE"), "create", 15) == "CREATE_COMPLETE"
    assert clock.pauses == [0.25, 0.25, 0.25]
    assert waiting.polls == [  # elapsed rounded to 0.1 s
        {"elapsed": 0.0, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 0.2, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 0.5, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 0.8, "phase": "create", "status": "CREATE_COMPLETE"},
    ]


def test_polls_back_off_to_the_longest_pause_after_a_steady_second():
    clock = FakeClock()
    states = iter(["CREATING"] * 16 + ["AVAILABLE"])
    waiting = deadline(3600, clock)
    assert waiting.until(lambda: next(states), lambda s: s == "AVAILABLE", "create", 5, current="CREATING") == "AVAILABLE"
    assert clock.pauses == [0.25] * 4 + [0.375, 0.5625, 0.84375, 1.265625, 1.8984375, 2.84765625, 4.271484375] + [5] * 6
    assert waiting.waited == sum(clock.pauses) and len(waiting.polls) == 18


def test_status_of_shapes_what_is_recorded():
    clock = FakeClock()
    waiting = deadline(60, clock)
    readings = iter([{"Lifecycle": "AVAILABLE"}])
    waiting.until(lambda: next(readings), lambda a: a["Lifecycle"] == "AVAILABLE", "create", 30,
                  current={"Lifecycle": "CREATING"}, status_of=lambda a: a["Lifecycle"])
    assert [poll["status"] for poll in waiting.polls] == ["CREATING", "AVAILABLE"]


def test_timeout_polls_once_more_at_the_deadline_and_carries_the_last_reading():
    clock = FakeClock()
    waiting = deadline(5, clock)
    with pytest.raises(WaitTimeout) as caught:
        waiting.until(lambda: {"Lifecycle": "CREATING", "poll": len(clock.pauses)}, lambda s: False, "create", 30,
                      current=None)
    # The last pause is cut to the deadline, and a poll follows it.
    assert clock.pauses == [0.25] * 4 + [0.375, 0.5625, 0.84375, 1.265625, 0.953125]
    assert caught.value.last == {"Lifecycle": "CREATING", "poll": 9} and caught.value.phase == "create"
    assert waiting.waited == 5 and waiting.elapsed() == 5.0


def test_a_transition_ending_in_the_last_pause_is_not_a_timeout():
    clock = FakeClock()
    waiting = deadline(4, clock)
    assert waiting.until(lambda: "AVAILABLE" if clock.now >= 104 else "CREATING", lambda s: s == "AVAILABLE",
                         "create", 30, current="CREATING") == "AVAILABLE"


def test_the_deadline_covers_every_wait_of_the_run():
    clock = FakeClock()
    waiting = deadline(10, clock)
    states = iter(["DELETING", None])
    waiting.until(lambda: next(states), lambda s: s is None, "delete", 30, current="DELETING")  # 0.25 + 0.5 s
    with pytest.raises(WaitTimeout):
        waiting.until(lambda: "CREATING", lambda s: s == "AVAILABLE", "create", 30, current="CREATING")
    assert waiting.waited == 10 and waiting.remaining() == 0


def test_time_spent_before_a_wait_counts_against_the_deadline():
    clock = FakeClock()
    waiting = deadline(5, clock)
    clock.now += 4.5  # spent before this wait (a dryrun, a first wait)
    with pytest.raises(WaitTimeout):
        waiting.until(lambda: "UPDATE_IN_PROGRESS", lambda s: False, "update", 15)
    assert clock.pauses == [0.25, 0.25]
