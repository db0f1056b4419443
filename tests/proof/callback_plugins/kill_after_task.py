"""Test helper: SIGKILL ansible-playbook right after the task named in $OBI_KILL_AFTER_TASK has succeeded.

A run killed this way stops as it would when an AWX job's pod dies: no rescue, no always, no set_stats.
"""

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Kills its own process (the ansible-playbook controller) after the named task."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_after_task"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        if result.task_name == os.environ.get("OBI_KILL_AFTER_TASK"):
            os.kill(os.getpid(), signal.SIGKILL)
