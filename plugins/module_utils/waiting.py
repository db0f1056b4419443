# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting by polling with backoff under one deadline per module run, shared by this collection's modules.

Not boto3's waiters: CloudFormation's waiter polls every 30 s and says nothing meanwhile, FSx has no waiter
for data repository associations, and a user in AWX wants to follow what happened. For the first second polls are
0.25 s apart, for short transitions (a stack gone in a second, a marker released: seen within 0.25 s, as by the pcluster
CLI's users polling every 0.25 s), then each pause is half as long again as the one before, up to the caller's
longest: a transition of a few seconds is seen within a third of its length, and a ten-minute wait with 15 s pauses
costs three polls more than with pauses growing from the start (which saw a stack gone after 1.0 s only after 1.19 s).
``wait_timeout`` bounds all the waiting of a run together (a replacement waits for a delete, then a create).
"""

import time

FIRST_DELAY = 0.25  # seconds between the first polls
STEADY = 1.0  # seconds of polls FIRST_DELAY apart before the pauses grow
GROWTH = 1.5  # then each pause is this many times the one before, up to the caller's longest
UNREAD = object()  # ``until``'s ``current`` when there is no reading yet


class WaitTimeout(Exception):
    """The deadline passed in ``phase`` while the watched resource was still ``last`` (its last reading)."""

    def __init__(self, phase, last):
        super().__init__(f"timed out waiting for {phase}")
        self.phase = phase
        self.last = last


def backoff_delays(first, longest, growth=GROWTH, steady=0.0):
    """first (as long as the pauses so far add up to less than steady), then growth*first, growth**2*first, ...
    never more than longest."""
    delay, paused = min(first, longest), 0.0
    while True:
        yield delay
        paused += delay
        if paused >= steady:
            delay = min(delay * growth, longest)


class Deadline:
    """One module run's waiting budget, the polls made under it (for the result) and the time spent waiting."""

    def __init__(self, timeout, clock=time.monotonic, sleep=time.sleep):
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.ends = self.started + timeout
        self.waited = 0.0
        self.polls = []

    def elapsed(self):
        """Seconds since the run started, rounded for the result."""
        return round(self.clock() - self.started, 1)

    def remaining(self):
        return self.ends - self.clock()

    def until(self, read, settled, phase, longest, current=UNREAD, status_of=lambda value: value):
        """Poll ``read()`` until ``settled(value)`` and return that value; ``current`` skips the first read.

        Each reading is recorded as ``{elapsed, phase, status: status_of(value)}``. Past the deadline it raises
        WaitTimeout with the last reading; one last poll is made at the deadline, so that a transition ending in
        the final pause is not reported as a timeout.
        """
        started = self.clock()
        delays = backoff_delays(FIRST_DELAY, longest, steady=STEADY)
        try:
            if current is UNREAD:
                current = read()
            while True:
                self.polls.append({"elapsed": self.elapsed(), "phase": phase, "status": status_of(current)})
                if settled(current):
                    return current
                remaining = self.remaining()
                if remaining <= 0:
                    raise WaitTimeout(phase, current)
                self.sleep(min(next(delays), remaining))
                current = read()
        finally:
            self.waited += self.clock() - started
