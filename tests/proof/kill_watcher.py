"""Test helper, run as its own process by callback_plugins/kill_during_task.py: once the emulator's request log holds
the call ``service:Operation``, SIGKILL a process tree (ansible-playbook, its workers, what they started), its root
last. It ends by itself when the root ends first.

    python kill_watcher.py ROOT_PID ENDPOINT SERVICE:OPERATION

A process, not a thread of ansible-playbook: Ansible forks a task worker per task, and a thread that is inside an
HTTP call at that moment can hold a lock (OpenSSL's, an import lock) that the worker inherits held forever. This
collection's modules run inside the worker, and one that then makes an SSL context hangs (seen: a delete killed this
way left its worker waiting in SSLContext.__new__, and the test's subprocess timed out after 600 s).
Standard library only, so that it starts in a few tens of milliseconds.
"""

import http.client
import json
import os
import signal
import sys
import time
import urllib.parse

POLL_SECONDS = 0.05


def parents():
    """pid -> parent pid of every process, from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    found[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return found


def descendants(root):
    """Every process under root, parents before their children."""
    by_pid, found, frontier = parents(), [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in by_pid.items() if parent == pid]
        found.extend(children)
        frontier.extend(children)
    return found


def seen(address, service, operation):
    """Whether the emulator's request log holds the call (127.0.0.1 only: the emulator of the test)."""
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request("GET", "/_emulator/requests")
        calls = json.loads(connection.getresponse().read())["calls"]
    finally:
        connection.close()
    return any(c["service"] == service and c["operation"] == operation for c in calls)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(root, endpoint, call):
    address = urllib.parse.urlsplit(endpoint)
    if address.hostname != "127.0.0.1":
        raise SystemExit(f"kill_watcher: {endpoint} is not the local emulator")
    service, operation = call.split(":", 1)
    while alive(root):
        if seen(address, service, operation):
            for pid in reversed([pid for pid in descendants(root) if pid != os.getpid()]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.kill(root, signal.SIGKILL)
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
