"""Test helper: SIGKILL ansible-playbook and every process under it (its workers, the module process) while the task
named in $OBI_KILL_DURING_TASK runs, once the emulator's request log holds the call $OBI_KILL_AFTER_CALL
(``service:Operation``): a run cut off inside one module run, between two of its AWS calls, as when an AWX job's pod
dies.

The watching is done by a process of its own (tests/proof/kill_watcher.py, which says why not a thread). The emulator
is the one of $AWS_ENDPOINT_URL (127.0.0.1 only); the test resets its request log before the run.
"""

import os
import subprocess
import sys
from pathlib import Path

from ansible.plugins.callback import CallbackBase

WATCHER = Path(__file__).resolve().parent.parent / "kill_watcher.py"


class CallbackModule(CallbackBase):
    """Starts the watcher that kills its own process tree during the named task, once the named call was made."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_during_task"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        if task.get_name() == os.environ.get("OBI_KILL_DURING_TASK"):
            # Its output goes nowhere: it must not hold the pipes of ansible-playbook's output once that is killed.
            subprocess.Popen(  # pylint: disable=consider-using-with  # it outlives this call and ends on its own
                [sys.executable, str(WATCHER), str(os.getpid()), os.environ["AWS_ENDPOINT_URL"].rstrip("/"),
                 os.environ["OBI_KILL_AFTER_CALL"]],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
