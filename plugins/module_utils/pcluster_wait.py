# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting by polling with backoff, keeping the status seen at each poll for the module's result.

Not boto3's waiters: CloudFormation's waiter polls every 30 s and says nothing meanwhile, while a user in
AWX wants to follow what happened, and a short transition should not cost a 30 s sleep.
"""

import time

FIRST_DELAY = 1.0  # seconds before the second poll; each later delay doubles up to the module's poll_interval


class WaitTimeout(Exception):
    def __init__(self, phase, status):
        super().__init__(f"timed out in {phase}; last status {status}")
        self.phase = phase
        self.status = status


class Progress:
    """One module run's clock and deadline (wait_timeout counts for the whole run), and the polls it made."""

    def __init__(self, timeout, clock=time.monotonic):
        self.clock = clock
        self.started = clock()
        self.timeout = timeout
        self.polls = []

    def elapsed(self):
        return round(self.clock() - self.started, 1)

    def remaining(self):
        return self.started + self.timeout - self.clock()

    def record(self, phase, status):
        self.polls.append({"elapsed": self.elapsed(), "phase": phase, "status": status})


def backoff_delays(first, maximum):
    """first, 2*first, 4*first, ... never more than maximum."""
    delay = min(first, maximum)
    while True:
        yield delay
        delay = min(delay * 2, maximum)


def poll(probe, settled, progress, phase, max_interval, sleep=time.sleep):
    """Call ``probe()`` until ``settled(status)``; record every status; WaitTimeout past the run's deadline."""
    delays = backoff_delays(FIRST_DELAY, max_interval)
    while True:
        status = probe()
        progress.record(phase, status)
        if settled(status):
            return status
        remaining = progress.remaining()
        if remaining <= 0:
            raise WaitTimeout(phase, status)
        sleep(min(next(delays), remaining))
