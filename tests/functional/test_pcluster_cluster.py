"""obi.hpc_provisioner.pcluster_cluster and pcluster_cluster_info through ansible-playbook, on the emulator over HTTP.

The real pcluster.lib runs end to end. A real create costs ~8-12 s (CDK synthesis), so one cluster (MAIN) is made
once, by the first test that needs it, and carried through update, fleet stop, describe, list and delete; the
failure tests make their own clusters.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from emulator.seed import seed
from tests.emulator.test_pcluster_lifecycle import cluster_config as lifecycle_cluster_config

REGION = "us-east-1"
MODULE = "obi.hpc_provisioner.pcluster_cluster"
INFO = "obi.hpc_provisioner.pcluster_cluster_info"
MAIN = "pct-main"
COST_VLAB, COST_PROJECT = "obp:costcenter:vlabid", "obp:costcenter:project"
MEMORY_LIMIT_KIB = 300 * 1024
FAILED_SCRIPT = "Failed to execute OnNodeConfigured script: exit 3"
_MAIN = {}  # MAIN's creation result and current configuration, shared by the tests of this module


@pytest.fixture(scope="module")
def zone(emulator):
    return seed(emulator.endpoint, prefix="pct", subnet_count=2)


@pytest.fixture(scope="module", autouse=True)
def remove_clusters(emulator):
    """Whatever a failing test left behind goes, so that a re-run starts clean."""
    yield
    cfn = emulator.client("cloudformation")
    for name in (MAIN, "pct-failed", "pct-again"):
        cfn.delete_stack(StackName=name)


def cluster_config(zone, max_count=4, **extra):
    """The emulator suite's minimal cluster on the seeded landing zone, with the provisioner's cost tags."""
    config = lifecycle_cluster_config(zone, max_count=max_count)
    config["Tags"] = [{"Key": COST_VLAB, "Value": "vlab-it"}, {"Key": COST_PROJECT, "Value": "proj-it"}]
    config.update(extra)
    return config


def play(emulator, tasks):
    """A playbook whose group/obi.hpc_provisioner.aws defaults point every AWS module at the emulator."""
    connection = {"endpoint_url": emulator.endpoint, "region": REGION, "access_key": "testing", "secret_key": "testing"}
    return yaml.safe_dump([{
        "name": "pcluster modules", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "module_defaults": {"group/obi.hpc_provisioner.aws": connection, MODULE: {"poll_interval": 0.5}},
        "tasks": tasks,
    }], sort_keys=False)


def task(title, module=MODULE, may_fail=False, **options):
    return dict({"name": title, module: options}, **({"ignore_errors": True} if may_fail else {}))


def calls(emu, operation):
    return sum(c["count"] for c in emu.requests()["calls"] if c["operation"] == operation)


def task_seconds(run, name):
    for task_run in run.json["plays"][0]["tasks"]:
        if task_run["task"]["name"] == name:
            duration = task_run["task"]["duration"]
            return (datetime.fromisoformat(duration["end"]) - datetime.fromisoformat(duration["start"])).total_seconds()
    raise KeyError(name)


def stack_names(emu):
    return {s["StackName"] for s in emu.client("cloudformation").describe_stacks()["Stacks"]}


@pytest.fixture
def main_cluster(emu, run_playbook, zone):
    """MAIN, created through the module once (with a 2 s CREATE_IN_PROGRESS, so that waiting is seen)."""
    if not _MAIN:
        emu.control("POST", "settings", {"stack_create_seconds": 2})
        config = cluster_config(zone)
        run = run_playbook(play(emu, [task("Create", name=MAIN, config=config)]))
        assert run.rc == 0, run.stdout + run.stderr
        _MAIN.update(created=run.results("Create"), config=config)
        emu.reset()
    return _MAIN


PROCESS_PROBE = """#!{python}
# An interpreter for ansible_python_interpreter: runs the module with the real Python (-X importtime) and appends its
# wall time, peak memory (the largest process, and the whole process tree sampled every 20 ms: Python plus the CDK's
# node) and the top-level packages it imported to {output}. The module's other stderr is passed on.
import json, os, resource, subprocess, sys, tempfile, time

def tree_rss_kib(pid):  # pid and its descendants, through /proc/<pid>/task/<tid>/children (no scan of all /proc)
    try:
        with open(f"/proc/{{pid}}/statm") as statm:
            total = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        for tid in os.listdir(f"/proc/{{pid}}/task"):
            with open(f"/proc/{{pid}}/task/{{tid}}/children") as children:
                total += sum(tree_rss_kib(int(child)) for child in children.read().split())
    except OSError:
        return 0
    return total

started = time.monotonic()
with tempfile.TemporaryFile("w+") as errors:
    process = subprocess.Popen([{python!r}, "-X", "importtime"] + sys.argv[1:], stderr=errors)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_kib(process.pid))
        time.sleep(0.02)
    errors.seek(0)
    imports = set()
    for line in errors:
        if line.startswith("import time:") and "|" in line:
            imports.add(line.rsplit("|", 1)[1].strip().split(".")[0])
        else:
            sys.stderr.write(line)
with open({output!r}, "a") as out:
    out.write(json.dumps({{"seconds": time.monotonic() - started, "tree_kib": peak, "imports": sorted(imports),
                           "process_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}}) + "\\n")
sys.exit(process.returncode)
"""


@pytest.fixture
def process_probe(tmp_path):
    """(extra vars that run modules through the probe, a function returning the figures of the module runs so far)."""
    output = tmp_path / "processes.jsonl"
    probe = tmp_path / "python-process-probe"
    probe.write_text(PROCESS_PROBE.format(python=sys.executable, output=str(output)))
    probe.chmod(0o755)
    return {"ansible_python_interpreter": str(probe)}, lambda: [json.loads(line) for line in output.read_text().splitlines()]


# Refused before any AWS call -------------------------------------------------------------------------------------


def test_invalid_names_fail_before_any_aws_call(emu, run_playbook, zone):
    accounting = cluster_config(zone, Scheduling={"Scheduler": "slurm", "SlurmSettings": {"Database": {
        "Uri": "db.example:3306", "UserName": "slurm", "PasswordSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}},
        "SlurmQueues": cluster_config(zone)["Scheduling"]["SlurmQueues"]})
    cases = {
        "Digit first": task("Digit first", may_fail=True, name="1abc", config=cluster_config(zone)),
        "Underscore": task("Underscore", may_fail=True, name="pct_bad", config=cluster_config(zone)),
        "Too long": task("Too long", may_fail=True, name="p" * 61, state="absent"),
        "Too long with accounting": task("Too long with accounting", may_fail=True, name="p" * 41, config=accounting),
        "Info": task("Info", module=INFO, may_fail=True, name="bad.name"),
    }
    run = run_playbook(play(emu, list(cases.values())))
    reasons = {name: run.results(name) for name in cases}
    assert all(r["failed"] and r["msg"].startswith("name: ") for r in reasons.values()), reasons
    assert "start with a letter" in reasons["Digit first"]["msg"]
    assert "letters, digits and hyphens" in reasons["Underscore"]["msg"]
    assert "at most 60" in reasons["Too long"]["msg"]
    assert "at most 40 with Slurm accounting" in reasons["Too long with accounting"]["msg"]
    assert emu.requests()["calls"] == []  # not one AWS call


def test_invalid_configs_name_the_field_and_create_nothing(emu, run_playbook, zone, tmp_path):
    bad = cluster_config(zone, Bogus=1)
    bad["Scheduling"]["SlurmQueues"][0]["ComputeResources"][0]["MaxCount"] = "ten"
    bad["HeadNode"]["Networking"]["SecurityGroups"] = zone["security_group_id"]
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- HeadNode\n- Scheduling\n")
    run = run_playbook(play(emu, [
        task("Field types", may_fail=True, name="pct-bad-config", config=bad),
        task("Missing file", may_fail=True, name="pct-bad-config", config_file=str(tmp_path / "missing.yaml")),
        task("Not a mapping", may_fail=True, name="pct-bad-config", config_file=str(not_a_mapping)),
        task("No config", may_fail=True, name="pct-bad-config"),
    ]))
    typed = run.results("Field types")
    assert typed["failed"] and typed["config_errors"] == [
        "Bogus: Unknown field.",
        "HeadNode.Networking.SecurityGroups: Not a valid list.",
        "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount: Not a valid integer.",
    ]
    assert typed["msg"].startswith("config: the cluster configuration is invalid:")
    assert "config_file: cannot read" in run.results("Missing file")["msg"]
    assert "must hold a mapping" in run.results("Not a mapping")["msg"]
    assert "config, config_file" in run.results("No config")["msg"]
    assert emu.requests()["calls"] == []
    assert "pct-bad-config" not in stack_names(emu)


def test_create_that_pcluster_refuses_is_no_change(emu, run_playbook, zone):
    """pcluster's validators refuse a key pair that does not exist before any write: the run changed nothing."""
    config = cluster_config(zone)
    config["HeadNode"]["Ssh"] = {"KeyName": "pct-no-such-key"}
    emu.control("DELETE", "requests")
    run = run_playbook(play(emu, [task("Refused", may_fail=True, name="pct-refused", config=config)]))
    refused = run.results("Refused")
    assert refused["failed"] and "KeyPairValidator" in refused["msg"], refused["msg"]
    assert refused["changed"] is False and refused["actions"] == []
    assert emu.requests()["writes"] == 0 and "pct-refused" not in stack_names(emu)


# Create, re-run, update -------------------------------------------------------------------------------------------


def test_check_mode_create_runs_only_the_dryrun(emu, run_playbook, zone):
    config = cluster_config(zone)
    run = run_playbook(play(emu, [
        task("Would create", name="pct-check", config=config),
        task("Without the key pair warning", name="pct-check", config=config, suppress_validators=["type:KeyPairValidator"]),
        task("Warnings refused", may_fail=True, name="pct-check", config=config, validation_failure_level="WARNING"),
    ]), check=True, diff=True)
    result = run.results("Would create")
    assert result["changed"] and result["actions"] == ["create"] and result["cluster"] == {}
    assert result["diff"]["before"] == {} and result["diff"]["after"]["Scheduling"]["Scheduler"] == "slurm"
    assert {"level": "WARNING", "type": "KeyPairValidator"}.items() <= result["validation_messages"][0].items()
    quiet = run.results("Without the key pair warning")
    assert [m["type"] for m in quiet["validation_messages"]] == ["MixedSecurityGroupOverwriteValidator"]
    refused = run.results("Warnings refused")  # pcluster's own message and validator list, no traceback
    assert refused["failed"] and refused["msg"].startswith("Cluster pct-check failed validation: Invalid cluster configuration.")
    assert "WARNING KeyPairValidator: If you do not specify a key pair" in refused["msg"]
    assert "Traceback" not in refused["msg"] + str(refused.get("exception")) and refused["configuration_validation_errors"]
    log = emu.requests()
    assert log["writes"] == 0 and log["reads"] > 0, log  # validators read (DescribeSubnets, RunInstances DryRun, ...)
    assert "pct-check" not in stack_names(emu)


def test_create_waits_until_complete_reporting_each_poll(main_cluster):
    created = main_cluster["created"]
    assert created["changed"] and created["actions"] == ["create"]
    cluster = created["cluster"]
    assert cluster["cluster_status"] == "CREATE_COMPLETE" and cluster["cloudformation_stack_status"] == "CREATE_COMPLETE"
    assert cluster["cluster_name"] == MAIN and cluster["region"] == REGION and cluster["version"] == "3.16.1"
    assert cluster["scheduler"] == {"type": "slurm"} and cluster["compute_fleet_status"] == "RUNNING"
    assert cluster["head_node"]["instance_id"].startswith("i-") and cluster["head_node"]["state"] == "running"
    assert cluster["head_node"]["private_ip_address"] == cluster["outputs"]["HeadNodePrivateIP"]
    assert cluster["tags"][COST_VLAB] == "vlab-it" and cluster["creation_time"].endswith("Z")
    statuses = [p["status"] for p in created["progress"]]
    assert statuses[0] == "CREATE_IN_PROGRESS" and statuses[-1] == "CREATE_COMPLETE", created["progress"]
    assert all(p["phase"] == "create" for p in created["progress"])
    assert created["elapsed_seconds"] >= created["progress"][-1]["elapsed"]
    assert [m["type"] for m in created["validation_messages"]] == ["KeyPairValidator", "MixedSecurityGroupOverwriteValidator"]


def test_rerun_changes_nothing_without_a_mutating_call(emu, run_playbook, main_cluster):
    run = run_playbook(play(emu, [task("Again", name=MAIN, config=main_cluster["config"])]))
    assert run.rc == 0, run.stdout + run.stderr
    again = run.results("Again")
    assert not again["changed"] and again["actions"] == [] and again["change_set"] == []
    assert again["cluster"]["cluster_status"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    log = emu.requests()
    assert log["writes"] == 0, [c for c in log["calls"] if c["kind"] == "write"]


def test_the_stored_configuration_is_no_change_without_loading_pcluster(emu, run_playbook, main_cluster, process_probe):
    """A configuration equal to the one pcluster stored (its artifact bucket) needs neither pcluster nor its dryrun."""
    probe_vars, figures = process_probe
    run = run_playbook(play(emu, [task("Again", name=MAIN, config=main_cluster["config"], validate_schema=False)]),
                       extra_vars=probe_vars)
    assert run.rc == 0, run.stdout + run.stderr
    assert not run.results("Again")["changed"] and run.results("Again")["change_set"] == []
    imports = figures()[0]["imports"]
    assert "boto3" in imports and not {"pcluster", "aws_cdk", "jsii"} & set(imports), imports
    assert ("s3", "GetObject") in {(c["service"], c["operation"]) for c in emu.requests()["calls"]}


def test_a_delete_that_ran_meanwhile_is_found_by_the_claim(emu, run_playbook, main_cluster):
    """With claim, the run fails with raced_delete when the cluster's claim is not the one given, or it is marked as
    being deleted; with its own claim it succeeds (the create playbook's check after its cluster step)."""
    dynamodb = emu.client("dynamodb")
    table = "pct-claims"
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "subnet_id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "subnet_id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    try:
        dynamodb.put_item(TableName=table, Item={"subnet_id": {"S": "subnet-0123456789abcdef0"}, "cluster": {"S": MAIN}})
        claimed = {"table": table, "subnet_id": "subnet-0123456789abcdef0"}
        other = {"table": table, "subnet_id": "subnet-0fedcba9876543210"}
        emu.control("DELETE", "requests")
        run = run_playbook(play(emu, [task("Own claim", name=MAIN, config=main_cluster["config"], claim=claimed),
                                      task("Claim gone", may_fail=True, name=MAIN, config=main_cluster["config"], claim=other)]))
        assert not run.results("Own claim").get("failed"), run.results("Own claim")
        gone = run.results("Claim gone")
        assert gone["failed"] and gone["raced_delete"] and gone["claim"]["subnet_id"] == "subnet-0123456789abcdef0"
        assert gone["msg"] == f"the claim of cluster {MAIN} is gone or marked for deletion"
        assert emu.requests()["writes"] == 0  # the check only reads
        dynamodb.put_item(TableName=table, Item={"subnet_id": {"S": f"deleting#{MAIN}"}, "cluster": {"S": MAIN},
                                                 "expires_at": {"N": "4102444800"}})
        marked = run_playbook(play(emu, [task("Marked", may_fail=True, name=MAIN, config=main_cluster["config"],
                                              claim=claimed)])).results("Marked")
        assert marked["failed"] and marked["raced_delete"] and marked["deletion_marker"]["cluster"] == MAIN
    finally:
        dynamodb.delete_table(TableName=table)


def test_update_of_max_count_returns_the_change_set_as_diff(emu, run_playbook, main_cluster, process_probe):
    config = json.loads(json.dumps(main_cluster["config"]))
    config["Scheduling"]["SlurmQueues"][0]["ComputeResources"][0]["MaxCount"] = 10
    parameter = "Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount"

    checked = run_playbook(play(emu, [task("Would update", name=MAIN, config=config)]), check=True, diff=True)
    assert checked.rc == 0, checked.stdout + checked.stderr
    would = checked.results("Would update")
    assert would["changed"] and would["actions"] == ["update"]
    assert would["diff"] == {"before": {parameter: "4"}, "after": {parameter: "10"}}
    assert emu.requests()["writes"] == 0

    probe_vars, figures = process_probe
    run = run_playbook(play(emu, [task("Update", name=MAIN, config=config)]), extra_vars=probe_vars, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    updated = run.results("Update")
    assert updated["changed"] and updated["actions"] == ["update"]
    assert updated["change_set"] == [{"parameter": parameter, "current_value": "4", "requested_value": "10"}]
    assert updated["diff"] == would["diff"]
    assert updated["cluster"]["cluster_status"] == "UPDATE_COMPLETE" and updated["progress"][-1]["status"] == "UPDATE_COMPLETE"
    assert calls(emu, "UpdateStack") == 1
    main_cluster["config"] = config
    # One module run (update dryrun, CDK synthesis, update) peaks under 300 MiB: the module's Python process, as
    # /usr/bin/time or getrusage count it. The CDK's jsii runtime adds two node processes (~50 + ~200 MiB) beside it.
    (peak,) = figures()
    print(f"\nmemory of one update run: largest process {peak['process_kib'] / 1024:.0f} MiB, "
          f"whole process tree (Python + node) {peak['tree_kib'] / 1024:.0f} MiB")
    assert peak["process_kib"] < MEMORY_LIMIT_KIB, peak


def test_update_that_needs_the_fleet_stopped(emu, run_playbook, main_cluster):
    config = json.loads(json.dumps(main_cluster["config"]))
    config["Scheduling"]["SlurmQueues"][0]["ComputeResources"][0]["InstanceType"] = "t3.small"
    parameter = "Scheduling.SlurmQueues[debug].ComputeResources[t3micro].InstanceType"

    refused = run_playbook(play(emu, [task("Refused", may_fail=True, name=MAIN, config=config)]))
    failed = refused.results("Refused")
    assert failed["failed"] and "the update needs the compute fleet stopped" in failed["msg"]
    assert f"{parameter} (t3.micro -> t3.small): All compute nodes must be stopped" in failed["msg"]
    assert "on_fleet_stop_required" in failed["msg"] and failed["update_validation_errors"][0]["parameter"] == parameter
    assert emu.requests()["writes"] == 0  # refused after the dryrun: nothing changed, the fleet still runs

    emu.control("POST", "settings", {"fleet_transition_seconds": 0.3})
    run = run_playbook(play(emu, [task("Stop, update, start", name=MAIN, config=config, on_fleet_stop_required="stop_and_start"),
                                  task("Describe", module=INFO, name=MAIN)]))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.results("Stop, update, start")
    assert result["changed"] and result["actions"] == ["stop_compute_fleet", "update", "start_compute_fleet"]
    assert result["change_set"] == [{"parameter": parameter, "current_value": "t3.micro", "requested_value": "t3.small"}]
    phases = [(p["phase"], p["status"]) for p in result["progress"]]
    assert ("stop_compute_fleet", "STOPPED") in phases and ("update", "UPDATE_COMPLETE") in phases
    assert phases[-1] == ("start_compute_fleet", "RUNNING")
    assert [p for p, s in phases].index("update") > [p for p, s in phases].index("stop_compute_fleet")  # stopped first
    assert run.results("Describe")["clusters"][0]["compute_fleet_status"] == "RUNNING"
    main_cluster["config"] = config


# Describe and list ------------------------------------------------------------------------------------------------


def test_info_describes_as_pcluster_does_without_importing_it(emu, run_playbook, main_cluster, process_probe):
    probe_vars, figures = process_probe
    run = run_playbook(play(emu, [task("Describe", module=INFO, name=MAIN), task("Missing", module=INFO, name="pct-none")]),
                       extra_vars=probe_vars)
    assert run.rc == 0, run.stdout + run.stderr
    reads = {(c["service"], c["operation"]) for c in emu.requests()["calls"]}
    env = dict(os.environ, AWS_ENDPOINT_URL=emu.endpoint, AWS_DEFAULT_REGION=REGION)
    started = time.monotonic()
    cli = subprocess.run([str(Path(sys.executable).parent / "pcluster"), "describe-cluster", "-n", MAIN, "-r", REGION],
                         env=env, capture_output=True, text=True, check=True, timeout=120)
    cli_seconds = time.monotonic() - started

    described, expected = run.results("Describe")["clusters"][0], json.loads(cli.stdout)
    assert run.results("Missing")["clusters"] == []
    same = {"cluster_name": "clusterName", "cluster_status": "clusterStatus", "version": "version", "region": "region",
            "scheduler": "scheduler", "creation_time": "creationTime", "last_updated_time": "lastUpdatedTime",
            "compute_fleet_status": "computeFleetStatus", "cloudformation_stack_arn": "cloudformationStackArn",
            "cloudformation_stack_status": "cloudFormationStackStatus"}
    assert {ours: described[ours] for ours in same} == {ours: expected[theirs] for ours, theirs in same.items()}
    assert described["tags"] == {t["key"]: t["value"] for t in expected["tags"]}
    head = expected["headNode"]
    assert described["head_node"] == {"instance_id": head["instanceId"], "instance_type": head["instanceType"],
                                      "launch_time": head["launchTime"], "private_ip_address": head["privateIpAddress"],
                                      "public_ip_address": head.get("publicIpAddress"), "state": head["state"]}
    assert described["cluster_configuration"]["url"].split("?")[0] == expected["clusterConfiguration"]["url"].split("?")[0]
    # Only the reads pcluster's describe needs for these fields: no S3 bucket checks.
    assert reads <= {("cloudformation", "DescribeStacks"), ("ec2", "DescribeInstances"), ("dynamodb", "GetItem")}, reads

    # What makes it fast: the module reads with boto3 alone, never importing pcluster or the CDK (which the CLI does).
    # The times are figures for the log; the benchmark (scripts/benchmark.sh) measures speed, not this test.
    module, task_time = figures()[0], task_seconds(run, "Describe")
    print(f"\ndescribe: pcluster_cluster_info module process {module['seconds']:.2f} s, {module['process_kib'] / 1024:.0f} MiB "
          f"(Ansible task {task_time:.2f} s), `pcluster describe-cluster` {cli_seconds:.2f} s")
    assert "boto3" in module["imports"]
    assert not {"pcluster", "aws_cdk", "jsii"} & set(module["imports"]), module["imports"]


def test_info_lists_every_page_with_status_and_cost_tag_filters(emu, run_playbook, main_cluster):
    cfn = emu.client("cloudformation")
    template = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    stubs = {f"pct-page-{index:02d}": ("vlab-a" if index % 2 else "vlab-b", f"proj-{index % 3}") for index in range(55)}
    for name, (vlab, project) in stubs.items():  # pcluster's list sees tagged stacks as clusters: cheap, and > 1 page
        cfn.create_stack(StackName=name, TemplateBody=template, Tags=[
            {"Key": "parallelcluster:version", "Value": "3.16.1"}, {"Key": "parallelcluster:cluster-name", "Value": name},
            {"Key": COST_VLAB, "Value": vlab}, {"Key": COST_PROJECT, "Value": project}])
    try:
        run = run_playbook(play(emu, [
            task("All", module=INFO),
            task("Vlab A", module=INFO, vlab_id="vlab-a"),
            task("Vlab A project 1", module=INFO, vlab_id="vlab-a", project_id="proj-1"),
            task("Up in vlab-it", module=INFO, vlab_id="vlab-it", cluster_status=["CREATE_COMPLETE", "UPDATE_COMPLETE"]),
            task("Failed in vlab A", module=INFO, vlab_id="vlab-a", cluster_status=["CREATE_FAILED"]),
        ]))
        assert run.rc == 0, run.stdout + run.stderr

        def listed(name):
            clusters = run.results(name)["clusters"]
            assert len(clusters) == len({c["cluster_name"] for c in clusters})  # no page read twice
            return {c["cluster_name"] for c in clusters}

        assert set(stubs) | {MAIN} <= listed("All")
        assert listed("Vlab A") == {n for n, (vlab, _p) in stubs.items() if vlab == "vlab-a"}
        assert listed("Vlab A project 1") == {n for n, tags in stubs.items() if tags == ("vlab-a", "proj-1")}
        assert listed("Up in vlab-it") == {MAIN} and listed("Failed in vlab A") == set()
        assert calls(emu, "DescribeStacks") >= 2 * 5  # every list read two pages at least
        summary = next(c for c in run.results("All")["clusters"] if c["cluster_name"] == MAIN)
        assert summary["cluster_status"] == "UPDATE_COMPLETE" and summary["tags"][COST_PROJECT] == "proj-it"
    finally:
        for name in stubs:
            cfn.delete_stack(StackName=name)


def test_info_retries_throttled_reads(emu, run_playbook, main_cluster):
    emu.control("POST", "faults/throttle", {"service": "*", "fraction": 0.3})
    run = run_playbook(play(emu, [task("Describe", module=INFO, name=MAIN), task("List", module=INFO, vlab_id="vlab-it")]))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.results("Describe")["clusters"][0]["cluster_name"] == MAIN
    assert [c["cluster_name"] for c in run.results("List")["clusters"]] == [MAIN]


# Failures ---------------------------------------------------------------------------------------------------------


def queue_create_failure(emu, seconds=0):
    """The next cluster stack stays CREATE_IN_PROGRESS for ``seconds``, then fails on its head node."""
    emu.control("POST", "settings", {"stack_create_seconds": seconds})
    emu.control("POST", "faults/stack_create_failed", {"reason": FAILED_SCRIPT})


def test_create_failed_reports_the_failed_events_and_absent_cleans_up(emu, run_playbook, zone):
    name, config = "pct-failed", cluster_config(zone)
    queue_create_failure(emu)
    run = run_playbook(play(emu, [task("Create", may_fail=True, name=name, config=config),
                                  task("Again", may_fail=True, name=name, config=config)]))
    created = run.results("Create")
    assert created["failed"] and created["changed"] and created["actions"] == ["create"]
    assert "create failed, the stack is CREATE_FAILED" in created["msg"]  # kept: rollback_on_failure defaults to false
    assert "OnNodeConfiguredExecutionFailure: Failed to execute OnNodeConfigured script." in created["msg"]
    assert f"CREATE_FAILED: {FAILED_SCRIPT}" in created["msg"]  # the failed stack event
    assert "AWS::CloudFormation::WaitCondition" in [e["resource_type"] for e in created["failed_events"]]
    assert created["cluster"]["failures"] == [{"failure_code": "OnNodeConfiguredExecutionFailure",
                                               "failure_reason": "Failed to execute OnNodeConfigured script."}]
    again = run.results("Again")
    assert again["failed"] and not again["changed"] and "on_create_failed: recreate" in again["msg"]
    assert FAILED_SCRIPT in again["msg"] and calls(emu, "CreateStack") == 1

    deleted = run_playbook(play(emu, [task("Delete", name=name, state="absent")]))
    assert deleted.rc == 0, deleted.stdout + deleted.stderr
    result = deleted.results("Delete")
    assert result["changed"] and result["actions"] == ["delete"] and result["cluster"] == {}
    assert result["progress"][-1] == dict(result["progress"][-1], phase="delete", status="DELETE_COMPLETE")
    assert name not in stack_names(emu)


def test_recreate_waits_for_the_failure_then_deletes_and_creates(emu, run_playbook, zone):
    # pcluster names the log group it retains after <name>-<UTC minute of creation>: a create failing, deleted and
    # made again within one minute (only on the emulator) would collide with it, so this cluster logs nowhere.
    name, config = "pct-again", cluster_config(zone, Monitoring={"Logs": {"CloudWatch": {"Enabled": False}}})
    queue_create_failure(emu, seconds=20)  # still CREATE_IN_PROGRESS when the next run looks, even on a loaded machine
    started = run_playbook(play(emu, [task("Start", name=name, config=config, wait=False)])).results("Start")
    assert started["changed"] and started["progress"] == [] and started["cluster"]["cluster_status"] == "CREATE_IN_PROGRESS"

    emu.control("POST", "settings", {"stack_create_seconds": 1})  # for the new stack; the failing one keeps its 20 s
    run = run_playbook(play(emu, [task("Recreate", name=name, config=config, on_create_failed="recreate")]))
    assert run.rc == 0, run.stdout + run.stderr
    result = run.results("Recreate")
    assert result["changed"] and result["actions"] == ["delete", "create"]
    phases = [(p["phase"], p["status"]) for p in result["progress"]]
    assert phases[0] == ("settle", "CREATE_IN_PROGRESS") and ("settle", "CREATE_FAILED") in phases  # waited, not raced
    assert ("delete", "DELETE_COMPLETE") in phases and phases[-1] == ("create", "CREATE_COMPLETE")
    assert result["cluster"]["cluster_status"] == "CREATE_COMPLETE" and calls(emu, "CreateStack") == 2
    run_playbook(play(emu, [task("Clean up", name=name, state="absent", wait=False)]))


# Delete -----------------------------------------------------------------------------------------------------------


def test_delete_waits_and_never_deletes_twice(emu, run_playbook, main_cluster):
    emu.control("POST", "settings", {"stack_delete_seconds": 4})
    run = run_playbook(play(emu, [task("Start deleting", name=MAIN, state="absent", wait=False),
                                  task("Wait until gone", name=MAIN, state="absent"),
                                  task("Absent again", name=MAIN, state="absent")]))
    assert run.rc == 0, run.stdout + run.stderr
    started = run.results("Start deleting")
    assert started["changed"] and started["actions"] == ["delete"]
    assert started["cluster"]["cluster_status"] == "DELETE_IN_PROGRESS"
    waited = run.results("Wait until gone")
    assert not waited["changed"] and waited["actions"] == [] and waited["cluster"] == {}
    statuses = [p["status"] for p in waited["progress"]]
    assert statuses[0] == "DELETE_IN_PROGRESS" and statuses[-1] == "DELETE_COMPLETE", waited["progress"]
    assert not run.results("Absent again")["changed"]
    assert calls(emu, "DeleteStack") == 1  # pcluster's delete, once
    assert MAIN not in stack_names(emu)
    main_cluster.clear()
