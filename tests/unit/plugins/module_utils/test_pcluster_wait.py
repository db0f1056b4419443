"""Unit tests of plugins/module_utils/pcluster_wait.py: polling with backoff on a fake clock."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import itertools
import os
import sys
from pathlib import Path

import pytest

# This work tree is the collection obi.hpc_provisioner through the collections path that bootstrap.sh sets up.
sys.path[:0] = [os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(Path(__file__).resolve().parents[4] / ".build" / "collections")]

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_wait as wait  # noqa: E402  pylint: disable=wrong-import-position


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_doubles_up_to_the_interval():
    assert list(itertools.islice(wait.backoff_delays(1.0, 15.0), 6)) == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert list(itertools.islice(wait.backoff_delays(1.0, 0.5), 3)) == [0.5, 0.5, 0.5]


def test_poll_records_every_status_with_elapsed_time():
    clock = FakeClock()
    progress = wait.Progress(60, clock=clock)
    statuses = iter(["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    final = wait.poll(lambda: next(statuses), lambda s: s.endswith("COMPLETE"), progress, "create", 15, sleep=clock.sleep)
    assert final == "CREATE_COMPLETE"
    assert clock.sleeps == [1.0, 2.0, 4.0]  # backoff, never a busy loop
    assert progress.polls == [
        {"elapsed": 0.0, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 1.0, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 3.0, "phase": "create", "status": "CREATE_IN_PROGRESS"},
        {"elapsed": 7.0, "phase": "create", "status": "CREATE_COMPLETE"},
    ]


def test_poll_times_out_at_the_run_deadline_without_oversleeping():
    clock = FakeClock()
    progress = wait.Progress(10, clock=clock)
    with pytest.raises(wait.WaitTimeout) as raised:
        wait.poll(lambda: "DELETE_IN_PROGRESS", lambda s: False, progress, "delete", 4, sleep=clock.sleep)
    assert raised.value.phase == "delete" and raised.value.status == "DELETE_IN_PROGRESS"
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]  # the last pause ends at the deadline
    assert progress.elapsed() == 10.0


def test_the_deadline_counts_for_the_whole_run():
    clock = FakeClock()
    progress = wait.Progress(5, clock=clock)
    clock.now += 4.5  # spent before this wait (a dryrun, a first wait)
    with pytest.raises(wait.WaitTimeout):
        wait.poll(lambda: "UPDATE_IN_PROGRESS", lambda s: False, progress, "update", 15, sleep=clock.sleep)
    assert clock.sleeps == [0.5]
