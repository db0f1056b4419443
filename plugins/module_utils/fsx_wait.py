# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for FSx data repository associations: polling with exponential backoff under one deadline per run.

boto3 has no waiter for associations, and they take from seconds (an update) to tens of minutes (a create
with a batch import of a large bucket): polls start 1 s apart, for the short transitions, and back off to
30 s, so that a long wait costs few calls. ``wait_timeout`` bounds all the waiting of a run together (a
replacement waits for the delete and then for the create).
"""

import time

FIRST_DELAY = 1.0  # seconds between the first two polls
MAX_DELAY = 30.0  # the longest pause between polls
BACKOFF = 2.0


class WaitTimeout(Exception):
    """The deadline passed while the watched resource was still in ``last`` (its last description, or None)."""

    def __init__(self, last):
        super().__init__("timed out")
        self.last = last


class Deadline:
    """The waiting budget of one module run; ``waited`` adds up the time spent waiting, reported to the user."""

    def __init__(self, timeout, clock=time.monotonic, sleep=time.sleep):
        self.clock = clock
        self.sleep = sleep
        self.ends = clock() + timeout
        self.waited = 0.0
        self.polls = 0

    def remaining(self):
        return self.ends - self.clock()

    def until(self, read, settled, current):
        """Poll ``read()`` until ``settled(current)``, starting from ``current``; return the settled value.

        Raises WaitTimeout carrying the last value read when the deadline comes first. One last poll is made at
        the deadline, so that a transition finishing in the final pause is not reported as a timeout.
        """
        started = self.clock()
        delay = FIRST_DELAY
        try:
            while not settled(current):
                remaining = self.remaining()
                if remaining <= 0:
                    raise WaitTimeout(current)
                self.sleep(min(delay, remaining))
                delay = min(delay * BACKOFF, MAX_DELAY)
                current = read()
                self.polls += 1
            return current
        finally:
            self.waited += self.clock() - started
