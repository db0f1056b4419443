"""Test helper: SIGKILL ansible-playbook and every process under it (its workers, the module process) while the task
named in $OBI_KILL_DURING_TASK runs, once the emulator's request log holds the call $OBI_KILL_AFTER_CALL
(``service:Operation``): a run cut off inside one module run, between two of its AWS calls, as when an AWX job's pod
dies.

The emulator is the one of $AWS_ENDPOINT_URL (127.0.0.1 only); the test resets its request log before the run.
"""

import json
import os
import signal
import threading
import time
import urllib.request

from ansible.plugins.callback import CallbackBase

POLL_SECONDS = 0.05


def _children():
    """pid -> parent pid of every process, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def _descendants(root):
    parents, found, frontier = _children(), [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found.extend(children)
        frontier.extend(children)
    return found


def _seen(endpoint, call):
    service, operation = call.split(":", 1)
    with urllib.request.urlopen(f"{endpoint}/_emulator/requests", timeout=5) as answer:
        log = json.load(answer)
    return any(c["service"] == service and c["operation"] == operation for c in log["calls"])


class CallbackModule(CallbackBase):
    """Kills its own process tree during the named task, once the named call reached the emulator."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_during_task"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        if task.get_name() == os.environ.get("OBI_KILL_DURING_TASK"):
            threading.Thread(target=self._kill_when_seen, daemon=True).start()

    @staticmethod
    def _kill_when_seen():
        endpoint, call = os.environ["AWS_ENDPOINT_URL"].rstrip("/"), os.environ["OBI_KILL_AFTER_CALL"]
        while not _seen(endpoint, call):
            time.sleep(POLL_SECONDS)
        me = os.getpid()
        for pid in reversed(_descendants(me)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.kill(me, signal.SIGKILL)
