"""The job and data playbooks (health, job_*, data_*) refuse a request they cannot serve, before any head node.

Each runs as `ansible-playbook obi.hpc_provisioner.<name>` would, against the emulator, and must hand its refusal back
in the one set_stats shape (status error, error.field naming the refused field) and then fail: invalid ids and the
playbook's own inputs before any AWS call; a project without a cluster after the read that finds none; a cluster
that is another project's, not ready, or without a head node (a bare stack that pcluster takes for a cluster) before
any connection. No head node is needed: what the modules do on one is their own tests' subject.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import json
from pathlib import Path

import pytest

from conftest import OUTPUTS  # pylint: disable=import-error
from lifecycle_helpers import lifecycle, writes

PREFIX = "opi"
SUBNETS = 1
REPO_ROOT = Path(__file__).resolve().parents[2]

# What each playbook needs besides the ids to pass its own checks, so that a case fails on the one input it changes.
VALID = {
    "health": {},
    "job_submit": {"command": "hostname"},
    "job_status": {"job_id": 7},
    "job_cancel": {"job_id": 7},
    "data_upload": {"path": "in/a.txt", "src": "https://example.org/a.txt"},
    "data_download": {"path": "out/a.txt", "dest": "/tmp/a.txt"},
    "data_list": {},
    "data_delete": {"path": "old"},
}
PLAYBOOKS = list(VALID)
# The one shape of set_stats (playbooks/tasks/stats.yml plus vars/operations.yml's lifecycle_more_stats).
SHAPE = {"operation", "vlab_id", "project_id", "clusterName", "clusterStatus", "ssh_user", "user_private_ssh_key_arn",
         "admin_private_ssh_key_arn", "clusterFsxId", "headNodeAddress", "slurmRestUrl", "status", "check_mode",
         "result", "error"}
TOKEN = "eyJhbGciOiJSUzI1NiJ9.not-a-real-token.c2lnbmF0dXJl"  # a stand-in for a user's access token

# (playbook, inputs over VALID, refused field, words of the message): one or two of each playbook's own checks.
BAD_INPUTS = [
    ("health", {"transport": "ftp"}, "transport", 'transport: "ftp" is not valid: one of ssh, rest'),
    ("job_submit", {"script": "#!/bin/sh\nhostname\n"}, "script, command, script_path",
     'script, command, script_path: "script, command" is not valid: exactly one'),
    ("job_submit", {"nodes": 0}, "nodes", 'nodes: "0" is not valid: a whole number, at least 1'),
    ("job_status", {"transport": "rest"}, "rest_token", 'rest_token: "" is not valid: transport rest needs'),
    ("job_cancel", {"job_id": "12; scancel -u sim"}, "job_id", 'job_id: "12; scancel -u sim" is not valid: required'),
    ("data_upload", {"area": "public"}, "area", 'area: "public" is not valid: one of scratch, private'),
    ("data_download", {"dest": ""}, "dest", 'dest: "" is not valid: required'),
    ("data_list", {"area": "home"}, "area", 'area: "home" is not valid: one of scratch, private, public'),
    ("data_delete", {"recurse": "perhaps"}, "recurse", 'recurse: "perhaps" is not valid: a boolean'),
]
# A missing cluster is looked for with the token given too: it must not show anywhere.
MORE = {"job_status": {"transport": "rest", "rest_token": TOKEN}}
# What each template's survey asks (vlab_id and project_id aside): the required questions, and the others. The
# transport questions are required (it has a default) and optional (the token); job_submit needs one of three.
REST = {"transport"}, {"rest_token"}
SURVEYS = {
    "health": (REST[0], REST[1] | {"srun"}),
    "job_submit": (REST[0], REST[1] | {"command", "script", "script_path", "work_dir", "job_name", "partition",
                                       "nodes", "ntasks", "time_limit"}),
    "job_status": ({"job_id"} | REST[0], REST[1]),
    "job_cancel": ({"job_id"} | REST[0], REST[1]),
    "data_upload": ({"area", "path", "src"}, {"overwrite"}),
    "data_download": ({"area", "path", "dest"}, set()),
    "data_list": ({"area"}, {"path", "recurse"}),
    "data_delete": ({"area", "path"}, {"recurse"}),
}


@pytest.fixture(scope="module", autouse=True)
def token_registered():
    """The token is a canary of the suites' secret scan too (scripts/scan_secrets.py reads stored-secrets-*.json)."""
    path = OUTPUTS / "stored-secrets-operation-inputs.json"
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps([TOKEN]), encoding="utf-8")


def run(run_playbook, site, playbook, **extra):
    return lifecycle(run_playbook, playbook, site, **dict(VALID[playbook], **extra))


def refused(result, playbook, field):
    """The run failed, and handed back its refusal of ``field`` in the one shape; returns error.message."""
    stats = result.stats_data
    assert result.rc != 0 and set(stats) == SHAPE, result.stdout[-3000:]
    assert (stats["operation"], stats["status"], stats["result"]) == (playbook, "error", None), stats
    assert stats["error"]["field"] == field, stats["error"]
    return stats["error"]["message"]


def calls(emu):
    return sum(c["count"] for c in emu.requests()["calls"])


# Bad ids: vlab_id for half the playbooks, project_id for the other half (the check is one task file for all).
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_an_invalid_id_is_refused_before_any_aws_call(emu, run_playbook, site, playbook):
    field, bad = ("vlab_id", {"vlab_id": "Bad_Vlab", "project_id": "p1"}) if PLAYBOOKS.index(playbook) % 2 else (
        "project_id", {"vlab_id": "opiv", "project_id": "x" * 37})
    message = refused(run(run_playbook, site, playbook, **bad), playbook, field)
    assert message.startswith(f'{field}: "{bad[field]}" is not valid: required, lower-case letters'), message
    assert calls(emu) == 0, emu.requests()


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_project_without_a_cluster_is_refused_naming_both_ids(emu, run_playbook, site, playbook):
    project = f"none-{playbook.replace('_', '-')}"
    result = run(run_playbook, site, playbook, vlab_id="opiv", project_id=project, **MORE.get(playbook, {}))
    message = refused(result, playbook, "vlab_id, project_id")
    assert message == (f'vlab_id, project_id: no cluster for vlab_id "opiv" and project_id "{project}" '
                       f"(pcluster-opiv-{project}): create it first"), message
    stats = result.stats_data
    assert (stats["clusterName"], stats["clusterStatus"], stats["headNodeAddress"]) == (
        f"pcluster-opiv-{project}", "NOT_FOUND", None), stats
    assert writes(emu) == 0 and calls(emu) > 0, emu.requests()
    assert TOKEN not in result.stdout + result.stderr + json.dumps(stats)


def make_cluster(emu, name, vlab_id, project_id, failed=False):
    """A stack that pcluster takes for a cluster (its version tag), with the project's cost tags and no head node."""
    if failed:
        emu.control("POST", "faults/stack_create_failed", {"reason": "the head node did not signal"})
    tags = {"parallelcluster:version": "3.16.1", "obp:costcenter:vlabid": vlab_id, "obp:costcenter:project": project_id}
    emu.client("cloudformation").create_stack(
        StackName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        TemplateBody=json.dumps({"Resources": {"Wait": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))


# (playbook, the project's ids, the cluster made first (name, its vlab and project tags, failed), refused field, message)
UNSERVED = [
    ("health", ("opiv", "p-other"), ("pcluster-opiv-p-other", "opiv", "someone-else", False), None,
     "cluster pcluster-opiv-p-other belongs to vlab_id=opiv, project_id=someone-else (its cost tags)"),
    ("job_status", ("opiv", "p-failed"), ("pcluster-opiv-p-failed", "opiv", "p-failed", True), "vlab_id, project_id",
     'the cluster pcluster-opiv-p-failed of vlab_id "opiv" and project_id "p-failed" is CREATE_FAILED; job_status'
     " needs it CREATE_COMPLETE or UPDATE_COMPLETE"),
    ("data_list", ("opiv", "p-headless"), ("pcluster-opiv-p-headless", "opiv", "p-headless", False), "head_node_address",
     "head_node_address: the cluster pcluster-opiv-p-headless has no head node address"),
]


@pytest.mark.parametrize("playbook, ids, cluster, field, expected", UNSERVED, ids=["owner", "state", "no-head-node"])
def test_a_cluster_that_cannot_serve_is_refused(emu, run_playbook, site, playbook, ids, cluster, field, expected):
    make_cluster(emu, *cluster)
    emu.control("DELETE", "requests")
    try:
        result = run(run_playbook, site, playbook, vlab_id=ids[0], project_id=ids[1])
        written = writes(emu)
    finally:  # the session's emulator is shared: no cluster of this file is left for another's listings
        emu.client("cloudformation").delete_stack(StackName=cluster[0])
    message = refused(result, playbook, field)
    assert expected in message, message
    assert written == 0


@pytest.mark.parametrize("playbook, bad, field, expected", BAD_INPUTS,
                         ids=[f"{p}-{next(iter(b))}" for p, b, _f, _e in BAD_INPUTS])
def test_a_bad_input_is_refused_naming_it_before_any_aws_call(emu, run_playbook, site, playbook, bad, field, expected):
    message = refused(run(run_playbook, site, playbook, vlab_id="opiv", project_id="p1", **bad), playbook, field)
    assert expected in message and message.count(" is not valid: ") == 1, message
    assert calls(emu) == 0, emu.requests()


def test_awx_templates_ask_what_the_playbooks_take():
    """One template per playbook; its survey's choices are the values the playbook accepts, the token is a password."""
    exported = json.loads((REPO_ROOT / "awx" / "job_templates.json").read_text(encoding="utf-8"))
    templates = {t["playbook"]: t for t in exported["job_templates"]}
    for playbook in PLAYBOOKS:
        template = templates[f"playbooks/{playbook}.yml"]
        assert template["name"] == f"hpc-{playbook.replace('_', '-')}", template["name"]
        questions = {q["variable"]: q for q in template["related"]["survey_spec"]["spec"]}
        required, optional = SURVEYS[playbook]
        assert {v for v, q in questions.items() if q["required"]} == {"vlab_id", "project_id"} | required, playbook
        assert {v for v, q in questions.items() if not q["required"]} == optional, playbook
        if "transport" in questions:
            assert questions["transport"]["choices"] == ["ssh", "rest"]
            assert questions["rest_token"]["type"] == "password" and not questions["rest_token"]["required"]
        if "area" in questions:
            writable = playbook in ("data_upload", "data_delete")
            assert questions["area"]["choices"] == ["scratch", "private"] + ([] if writable else ["public"]), playbook
        if "job_id" in questions:
            assert questions["job_id"]["type"] == "integer" and questions["job_id"]["required"]
