"""The create playbook killed (SIGKILL, as when an AWX job's pod dies) after each of its writing steps in turn, then
re-run (it converges) or deleted (nothing is left: the orphan check of tests/lifecycle_helpers.py is empty)."""
# pylint: disable=missing-function-docstring  # the test names say what they check

from pathlib import Path

import pytest

from lifecycle_helpers import claims, clusters, lifecycle, orphans

PREFIX = "kil"
# The create playbook's steps that write, in order: a run killed after any of them must converge when re-run, or
# leave nothing behind when deleted.
WRITING_STEPS = [
    "The project's key pairs (admin, simulation user; private keys in the key store)",
    "Claim a compute subnet",
    "Publish what the cluster's nodes read at boot",
    "The cluster",
]


@pytest.mark.parametrize("step", WRITING_STEPS)
def test_create_killed_after_a_step_converges_or_deletes_cleanly(emu, run_playbook, site, zone, monkeypatch, step):
    project = f"k{WRITING_STEPS.index(step)}"
    request = {"vlab_id": "kilv", "project_id": project}
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", str(Path(__file__).parent / "callback_plugins"))
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "kill_after_task")
    monkeypatch.setenv("OBI_KILL_AFTER_TASK", step)
    killed = lifecycle(run_playbook, "create", site, name="killed", **request)
    monkeypatch.delenv("OBI_KILL_AFTER_TASK")
    assert killed.rc == -9, killed.stdout[-2000:]

    if WRITING_STEPS.index(step) % 2 == 0:  # half of the cases re-run first, the other half delete at once
        again = lifecycle(run_playbook, "create", site, name="again", **request)
        assert again.rc == 0, again.stdout[-3000:]
        assert f"pcluster-kilv-{project}" in clusters(emu)
        assert list(claims(emu, zone).values()).count(f"pcluster-kilv-{project}") == 1
    deleted = lifecycle(run_playbook, "delete", site, **request)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert f"pcluster-kilv-{project}" not in clusters(emu)
    assert orphans(emu, "kilv", site["hpc_infra_bucket"]) == []


def test_delete_killed_after_its_mark_blocks_create_until_run_again(emu, run_playbook, site, zone, monkeypatch):
    """A delete killed right after it marked the cluster (inside its one module run, before it deleted anything): a
    create is refused at its claim (its key pairs exist already, so it writes nothing of its own), naming the delete; a
    delete run again ends it, and then the project can be created again."""
    request = {"vlab_id": "kilv", "project_id": "kmark"}
    cluster = "pcluster-kilv-kmark"
    created = lifecycle(run_playbook, "create", site, name="created", **request)
    assert created.rc == 0, created.stdout[-3000:]
    emu.control("DELETE", "requests")
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", str(Path(__file__).parent / "callback_plugins"))
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "kill_during_task")
    monkeypatch.setenv("OBI_KILL_DURING_TASK", "Delete the cluster and what belongs to it")
    monkeypatch.setenv("OBI_KILL_AFTER_CALL", "dynamodb:PutItem")  # the mark: the module then loads pcluster (~1 s)
    killed = lifecycle(run_playbook, "delete", site, name="killed", **request)
    monkeypatch.delenv("OBI_KILL_DURING_TASK")
    assert killed.rc == -9, killed.stdout[-2000:]
    assert {c["operation"] for c in emu.requests()["calls"] if c["kind"] == "write"} == {"PutItem"}, emu.requests()

    emu.control("DELETE", "requests")
    refused = lifecycle(run_playbook, "create", site, name="refused", **request)
    assert refused.rc != 0 and refused.stats_data["error"]["task"] == "Claim a compute subnet", refused.stdout[-3000:]
    assert f"cluster {cluster} is being deleted" in refused.stats_data["error"]["message"]
    assert [c for c in emu.requests()["calls"] if c["kind"] == "write"] == [], emu.requests()

    deleted = lifecycle(run_playbook, "delete", site, name="deleted", **request)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert orphans(emu, "kilv", site["hpc_infra_bucket"]) == []
    again = lifecycle(run_playbook, "create", site, name="again", **request)
    assert again.rc == 0 and cluster in clusters(emu), again.stdout[-3000:]
    assert list(claims(emu, zone).values()).count(cluster) == 1
    final = lifecycle(run_playbook, "delete", site, name="final", **request)
    assert final.rc == 0, final.stdout[-3000:]
