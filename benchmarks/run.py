"""Benchmark: the lifecycle playbooks side by side with the bare pcluster CLI, on the local AWS emulator.

    bash scripts/benchmark.sh [--runs 3] [--scale 10,100,500] [--concurrency 20] [--duplicates 5] [--skip SECTION ...]

scripts/benchmark.sh starts an emulator of its own and runs this file with the environment of scripts/bootstrap.sh
(PATH with .venv/bin, PYTHONPATH with the repository and the collections path, fake credentials); ``--endpoint``
points it at that emulator (a loopback address only). Every measured command is a fresh process: wall time
around it, its peak memory and CPU time from GNU time (see METHOD), and the AWS calls it made from the emulator's request
log, reset before each measured command. Results: benchmarks/results.md and the README snippet.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError

from emulator.seed import require_loopback, seed, site_settings

REPO = Path(__file__).resolve().parent.parent
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
GNU_TIME = "/usr/bin/time"  # Debian package `time`
PCLUSTER_VERSION = importlib.metadata.version("aws-parallelcluster")
SEED_PREFIX = "bench"  # the landing zone's names
# The platform's ids are UUID4 strings (36 characters): their cluster names are the naming rule's digest form.
VLAB = str(uuid.uuid4())
_PROJECTS = {}
# As the lifecycle tests: no CloudWatch logs (clusters come and go within a minute), EFS only, and subnets that
# count as free while moto keeps the addresses of terminated instances.
SITE_OVERRIDES = {"hpc_logs_enabled": False, "storage": "efs_only", "hpc_require_unused_subnets": False}
# Tasks that only run controller code (action plugins of no module); any other action runs a module (inside the
# task worker, or in a process of its own).
CONTROLLER_ACTIONS = {"ansible.builtin." + a for a in ("set_fact", "assert", "fail", "set_stats", "include_tasks",
                                                       "include_role", "import_tasks", "debug", "meta",
                                                       "validate_argument_spec")} | {"obi.hpc_provisioner.check_inputs"}
METHOD = """\
- Each command runs as a fresh process, one at a time (except the concurrency test); the medians are over the
  runs, interleaved playbook / CLI so that both see the same load.
- Wall time: around the process (for the CLI delete, also the polling until the stack is gone).
- AWS calls: the emulator's request log, reset before each measured command; reads are Describe/Get/List/Head...
  calls and EC2 DryRun calls, everything else is a write.
- Peak memory and CPU: GNU time (`/usr/bin/time -f "%M %U %S"`) around each command, a fresh process each time.
  Its `%M` is `ru_maxrss` of wait4(): the largest resident set of the command or of any descendant it waited for
  (Ansible's forks and module processes, the CDK's node), i.e. the largest single process of the tree, not a sum;
  for a playbook that is the module importing pcluster. (Not `os.wait4()` from here: a child started by this
  Python process inherits its resident size into ru_maxrss at exec, a floor of ~100 MB.) CPU s is user + system
  time of the whole tree: less sensitive than wall time to the other jobs on the machine.
- The CLI is `.venv/bin/pcluster` with `AWS_ENDPOINT_URL` set, as the tests point the modules at the emulator.
"""


class BenchmarkError(RuntimeError):
    pass


# Processes and measurements ------------------------------------------------------------------------------------


@dataclass
class Proc:
    """One finished process."""
    argv: list
    seconds: float
    cpu: float  # user + system seconds of the process tree
    rss_mb: float
    rc: int
    stdout: str
    stderr: str
    started: float  # epoch seconds
    listed: int = 0  # clusters in a pcluster list-clusters page

    def playbook_json(self):
        """The ansible.posix.json callback's document ({} when the output holds none)."""
        start = self.stdout.find("{")
        return json.loads(self.stdout[start:]) if start >= 0 else {}


def run_process(argv, env, timeout):
    """Run argv to its end under GNU time: wall time, peak RSS and CPU of its process tree, and its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as usage:
        started, clock = time.time(), time.perf_counter()
        command = [GNU_TIME, "-f", "%M %U %S", "-o", usage.name, *argv]
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO, start_new_session=True)  # pylint: disable=consider-using-with
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the command and everything it started
            process.wait()
        seconds = time.perf_counter() - clock
        fields = (usage.read().strip().splitlines() or ["0 0 0"])[-1].split()  # after "Command exited with ..."
        out.seek(0)
        err.seek(0)
        return Proc(list(argv), seconds, float(fields[1]) + float(fields[2]), int(fields[0]) / 1024, process.returncode,
                    out.read().decode(errors="replace"), err.read().decode(errors="replace"), started)


@dataclass
class Sample:
    """One measured operation (one or more processes)."""
    seconds: float
    reads: int
    writes: int
    procs: list

    @property
    def rss_mb(self):
        return max((p.rss_mb for p in self.procs), default=0)

    @property
    def cpu(self):
        return sum(p.cpu for p in self.procs)


@dataclass
class Row:
    """The samples of one operation done by one tool."""
    operation: str
    tool: str
    samples: list = field(default_factory=list)
    baseline: "Row" = None

    def median(self, attribute):
        return statistics.median(getattr(s, attribute) for s in self.samples)

    def median_sample(self):
        return sorted(self.samples, key=lambda s: s.seconds)[(len(self.samples) - 1) // 2]

    def ratio(self):
        return self.median("seconds") / self.baseline.median("seconds") if self.baseline else 1.0


class Emulator:
    """The emulator's control endpoint and boto3 clients bound to it."""

    def __init__(self, endpoint):
        require_loopback(endpoint)
        self.endpoint = endpoint

    def control(self, method, path):
        request = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset_log(self):
        self.control("DELETE", "requests")

    def calls(self):
        log = self.control("GET", "requests")
        return log["reads"], log["writes"]

    def client(self, service):
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)


class Bench:
    """Runs the playbooks and the CLI against the emulator and measures them."""

    def __init__(self, args, emulator, site_file, zone):
        self.args, self.emu, self.site_file, self.zone = args, emulator, site_file, zone
        self.env = dict(os.environ, AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=REGION,
                        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_SHOW_CUSTOM_STATS="true",
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
        self.cfn = emulator.client("cloudformation")
        self.workdir = Path(tempfile.mkdtemp(prefix="hpc-benchmark-"))

    def playbook(self, name, **extra):
        argv = ["ansible-playbook", "-i", "localhost,", f"obi.hpc_provisioner.{name}", "-e", f"@{self.site_file}"]
        return argv + (["-e", json.dumps(extra)] if extra else [])

    @staticmethod
    def pcluster(*args):
        return ["pcluster", *args, "--region", REGION]

    def run(self, argv, check=True, timeout=None):
        proc = run_process(argv, self.env, timeout or self.args.timeout)
        if check and proc.rc != 0:
            raise BenchmarkError(f"{' '.join(argv[:4])} failed (rc {proc.rc}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def measure(self, command, after=None, check=True):
        """Run command (an argv, or a callable that runs processes and returns them) with a fresh request log."""
        self.emu.reset_log()
        clock = time.perf_counter()
        procs = command() if callable(command) else [self.run(command, check)]
        if after:
            after()
        seconds = time.perf_counter() - clock
        reads, writes = self.emu.calls()
        return Sample(seconds, reads, writes, procs)

    # What the emulator holds ----------------------------------------------------------------------------------

    def stacks(self):
        return self.cfn.get_paginator("describe_stacks").paginate().build_full_result()["Stacks"]

    def cluster_names(self):
        """Clusters as pcluster lists them: top-level stacks tagged parallelcluster:version (not image builds)."""
        names = []
        for stack in self.stacks():
            tags = {t["Key"] for t in stack.get("Tags", [])}
            if not stack.get("ParentId") and "parallelcluster:version" in tags and "parallelcluster:image_id" not in tags:
                names.append(stack["StackName"])
        return names

    def stored_config(self, cluster):
        """The configuration pcluster stored for a cluster (its artifact bucket), as text."""
        stack = self.cfn.describe_stacks(StackName=cluster)["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        key = f"{params['ArtifactS3RootDirectory']}/configs/cluster-config.yaml"
        return self.emu.client("s3").get_object(Bucket=params["ResourcesS3Bucket"], Key=key)["Body"].read().decode()

    def config_file(self, cluster):
        """The CLI's configuration for a twin of ``cluster``: the stored one, with one S3Access entry per bucket for the
        head node. pcluster's update diff pairs S3Access entries by bucket: with the head node's two entries for the
        infra bucket (read all, write its host key) it reports a change for the same configuration, so the CLI's
        no-change update would start an update instead of answering "No changes found"."""
        config = yaml.safe_load(self.stored_config(cluster))
        entries = config.get("HeadNode", {}).get("Iam", {}).get("S3Access", [])
        by_bucket = {}
        for entry in entries:
            by_bucket.setdefault(entry["BucketName"], entry)
        if entries:
            config["HeadNode"]["Iam"]["S3Access"] = list(by_bucket.values())
        path = self.workdir / f"{cluster}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return str(path)

    def wait_gone(self, name, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                stacks = self.cfn.describe_stacks(StackName=name)["Stacks"]
            except ClientError as error:
                if "does not exist" in str(error):
                    return
                raise
            if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
                return
            time.sleep(0.25)
        raise BenchmarkError(f"stack {name} still there after {timeout} s")

    def list_all_pages(self):
        """pcluster list-clusters once per page (the CLI returns one page of DescribeStacks and a nextToken)."""
        procs, token = [], None
        while True:
            procs.append(self.run(self.pcluster("list-clusters", *(["--next-token", token] if token else []))))
            page = json.loads(procs[-1].stdout)
            procs[-1].listed = len(page.get("clusters", []))
            token = page.get("nextToken")
            if not token:
                return procs


def project_id(label):
    """The UUID4 project id that stands for ``label`` ("p0", "warm", ...) in this run."""
    return _PROJECTS.setdefault(label, str(uuid.uuid4()))


def cluster_name(label, vlab=VLAB):
    """The cluster of the project ``label``, by the collection's naming rule (accounting off)."""
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names  # pylint: disable=import-outside-toplevel

    return names.cluster_name(vlab, project_id(label))


def stats_of(proc):
    return proc.playbook_json().get("global_custom_stats", {})


# Sections ---------------------------------------------------------------------------------------------------


def lifecycle(bench, report):
    """create, no-change create, describe, list and delete: playbook against the CLI, interleaved."""
    runs = bench.args.runs
    rows = {}

    def row(operation, tool, baseline=None):
        rows[(operation, tool)] = Row(operation, tool, baseline=rows.get((operation, baseline)))
        return rows[(operation, tool)]

    create_cli, create_pb = row("create", "pcluster CLI"), row("create", "playbook", "pcluster CLI")
    log("warm-up: one create of each kind (first run publishes the collection tarball), not measured")
    bench.run(bench.playbook("create", vlab_id=VLAB, project_id=project_id("warm")))
    bench.run(bench.pcluster("create-cluster", "--cluster-name", "bench-cli-warm", "--cluster-configuration",
                             bench.config_file(cluster_name("warm")), "--rollback-on-failure", "false"))
    for i in range(runs):
        log(f"create {i + 1}/{runs}: playbook, then pcluster create-cluster with the configuration the playbook rendered")
        create_pb.samples.append(bench.measure(bench.playbook("create", vlab_id=VLAB, project_id=project_id(f"p{i}"))))
        config = bench.config_file(cluster_name(f"p{i}"))
        create_cli.samples.append(bench.measure(bench.pcluster(
            "create-cluster", "--cluster-name", f"bench-cli-{i}", "--cluster-configuration", config,
            "--rollback-on-failure", "false")))

    target, cli_twin = cluster_name("p0"), "bench-cli-0"
    again_cli, again_pb = row("create again, no change", "pcluster CLI"), row("create again, no change", "playbook", "pcluster CLI")
    describe_cli, describe_pb = row("describe", "pcluster CLI"), row("describe", "playbook", "pcluster CLI")
    list_cli, list_pb = row("list", "pcluster CLI"), row("list", "playbook", "pcluster CLI")
    config = bench.config_file(target)
    for i in range(runs):
        log(f"no-change create, describe, list {i + 1}/{runs}")
        again_pb.samples.append(bench.measure(bench.playbook("create", vlab_id=VLAB, project_id=project_id("p0"))))
        sample = bench.measure(bench.pcluster("update-cluster", "--cluster-name", cli_twin, "--cluster-configuration", config),
                               check=False)
        if "No changes found" not in sample.procs[0].stdout:
            raise BenchmarkError(f"pcluster update-cluster with the same configuration: {sample.procs[0].stdout[-2000:]}")
        again_cli.samples.append(sample)
        describe_pb.samples.append(bench.measure(bench.playbook("describe", vlab_id=VLAB, project_id=project_id("p0"))))
        describe_cli.samples.append(bench.measure(bench.pcluster("describe-cluster", "--cluster-name", target)))
        list_pb.samples.append(bench.measure(bench.playbook("list")))
        list_cli.samples.append(bench.measure(bench.list_all_pages))
    report.listed = len(bench.cluster_names())

    fixed_costs(bench, report)
    if bench.args.scale:
        scale(bench, report, target)

    delete_cli, delete_pb = row("delete (until gone)", "pcluster CLI"), row("delete (until gone)", "playbook", "pcluster CLI")
    for i in range(runs):
        log(f"delete {i + 1}/{runs}: playbook (waits until gone), then pcluster delete-cluster and polling until gone")
        delete_pb.samples.append(bench.measure(bench.playbook("delete", vlab_id=VLAB, project_id=project_id(f"p{i}"))))
        delete_cli.samples.append(bench.measure(bench.pcluster("delete-cluster", "--cluster-name", f"bench-cli-{i}"),
                                                after=lambda name=f"bench-cli-{i}": bench.wait_gone(name)))
    report.rows = list(rows.values())


def fixed_costs(bench, report):
    """What any playbook, module or pcluster run pays before its own work, on this machine and under this load."""
    commands = {}
    for label, task in (("ansible-playbook: one set_fact task", {"ansible.builtin.set_fact": {"benchmark_noop": True}}),
                        ("ansible-playbook: one AWS module task (amazon.aws.aws_caller_info)", {"amazon.aws.aws_caller_info": {}})):
        path = bench.workdir / f"fixed-{len(commands)}.yml"
        path.write_text(yaml.safe_dump([{
            "name": "Fixed cost", "hosts": "localhost", "connection": "local", "gather_facts": False,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "module_defaults": {"group/aws": {"endpoint_url": bench.emu.endpoint, "region": REGION}},
            "tasks": [dict(name="Task", **task)]}]))
        commands[label] = ["ansible-playbook", "-i", "localhost,", str(path)]
    commands["python: import boto3, make an EC2 client"] = ["python", "-c", f"import boto3; boto3.client('ec2', region_name='{REGION}')"]
    commands["python: import pcluster.lib"] = ["python", "-c", "import pcluster.lib"]
    commands["pcluster version (the CLI's start-up)"] = ["pcluster", "version"]
    report.fixed = [Row(label, "") for label in commands]
    log("fixed costs: an empty playbook, one AWS module task, imports")
    for _run in range(bench.args.runs):
        for row, argv in zip(report.fixed, commands.values()):
            row.samples.append(bench.measure(argv))


def scale(bench, report, target):
    """list and describe with N clusters present: the real ones plus stand-in stacks."""
    stack = bench.cfn.describe_stacks(StackName=target)["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    # A stand-in: what pcluster's list_clusters and describe_cluster read from a cluster's stack, nothing more. The
    # version tag makes it a cluster; the parameters point at the target cluster's stored configuration.
    keys = ["Scheduler", "ClusterUser", "ResourcesS3Bucket", "ArtifactS3RootDirectory", "ConfigVersion"]
    template = json.dumps({"Parameters": {k: {"Type": "String"} for k in keys},
                           "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    standins = []
    for size in bench.args.scale:
        present = len(bench.cluster_names())
        if present > size:
            log(f"scale: {present} clusters already present, more than {size}: skipped")
            continue
        log(f"scale: {size - present} stand-in stacks more, {size} clusters")
        for _standin in range(size - present):
            name = f"standin-{len(standins):04d}"
            bench.cfn.create_stack(
                StackName=name, TemplateBody=template,
                Parameters=[{"ParameterKey": k, "ParameterValue": params[k]} for k in keys],
                Tags=[{"Key": "parallelcluster:version", "Value": PCLUSTER_VERSION},
                      {"Key": "obp:costcenter:vlabid", "Value": "standin"},
                      {"Key": "obp:costcenter:project", "Value": name}])
            standins.append(name)
        point = {"size": size, "standins": len(standins), "stacks": len(bench.stacks())}
        rows = {k: Row(k, "") for k in ("DescribeStacks", "list playbook", "list CLI", "describe playbook", "describe CLI")}
        for _run in range(bench.args.scale_runs):
            clock = time.perf_counter()
            bench.stacks()
            rows["DescribeStacks"].samples.append(Sample(time.perf_counter() - clock, 0, 0, []))
            sample = bench.measure(bench.playbook("list"))
            point["listed_playbook"] = len(stats_of(sample.procs[0]).get("clusters") or [])
            rows["list playbook"].samples.append(sample)
            sample = bench.measure(bench.list_all_pages)
            point["listed_cli"], point["pages"] = sum(p.listed for p in sample.procs), len(sample.procs)
            rows["list CLI"].samples.append(sample)
            rows["describe playbook"].samples.append(bench.measure(bench.playbook("describe", vlab_id=VLAB, project_id=project_id("p0"))))
            rows["describe CLI"].samples.append(bench.measure(bench.pcluster("describe-cluster", "--cluster-name", target)))
        point["rows"] = rows
        report.scale.append(point)
    log(f"scale: deleting {len(standins)} stand-ins")
    for name in standins:
        bench.cfn.delete_stack(StackName=name)
    for name in standins:
        bench.wait_gone(name)


def concurrency(bench, report):
    """N creates at once for distinct projects, plus duplicates racing some of them."""
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils.subnet_claim import claimed_subnets  # pylint: disable=import-outside-toplevel

    vlab, count, dups = str(uuid.uuid4()), bench.args.concurrency, bench.args.duplicates
    requests = []
    for i in range(count):
        requests.append(f"c{i:02d}")
        if i < dups:
            requests.append(f"c{i:02d}")  # the duplicate starts right after its original
    log(f"concurrency: {len(requests)} create playbooks at once ({count} projects, {dups} duplicates)")
    procs = [None] * len(requests)

    def create(index, project):
        procs[index] = bench.run(bench.playbook("create", vlab_id=vlab, project_id=project_id(project)), check=False,
                                 timeout=bench.args.timeout * 3)

    def run_all():
        threads = [threading.Thread(target=create, args=item) for item in enumerate(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return procs

    before = set(bench.cluster_names())
    sample = bench.measure(run_all)
    expected = {cluster_name(p, vlab) for p in requests}
    clusters = set(bench.cluster_names()) - before
    claims = claimed_subnets(bench.emu.client("dynamodb"), bench.zone["claim_table"])
    held = Counter(c for c in claims.values() if c in expected)
    config_subnets = {name: yaml.safe_load(bench.stored_config(name))["HeadNode"]["Networking"]["SubnetId"] for name in clusters}
    outcomes = Counter()
    for project, proc in zip(requests, procs):
        error = (stats_of(proc).get("error") or {}).get("message", "") if proc.rc else ""
        outcomes["succeeded" if proc.rc == 0 else f"failed: {error.splitlines()[0][:120] if error else proc.stderr[-120:]}"] += 1
    per_project = Counter(p for p, proc in zip(requests, procs) if proc.rc == 0)
    report.concurrency = {
        "requests": len(requests), "projects": count, "duplicates": dups, "sample": sample,
        "median_run": statistics.median(p.seconds for p in procs), "outcomes": outcomes,
        "checks": {
            f"exactly {count} clusters, one per project": clusters == expected and len(clusters) == count,
            "each cluster holds exactly one claim": set(held) == expected and set(held.values()) == {1},
            "no subnet held twice (claims and the clusters' configured subnets)":
                len(set(config_subnets.values())) == len(config_subnets)
                and all(claims.get(subnet) == name for name, subnet in config_subnets.items()),
            "every project's create succeeded at least once": set(per_project) == set(requests),
        },
    }


# Report -----------------------------------------------------------------------------------------------------


@dataclass
class Report:
    started: float
    load_before: tuple
    rows: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    concurrency: dict = None
    listed: int = 0
    fixed: list = field(default_factory=list)


def log(message):
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", flush=True)


def seconds_list(row):
    return ", ".join(f"{s.seconds:.1f}" for s in row.samples)


def lifecycle_table(rows):
    lines = ["| operation | tool | median s | × CLI | CPU s | AWS reads | AWS writes | peak RSS MB | runs (s) |",
             "|---|---|--:|--:|--:|--:|--:|--:|---|"]
    for row in rows:
        lines.append(f"| {row.operation} | {row.tool} | {row.median('seconds'):.2f} | {row.ratio():.2f} | {row.median('cpu'):.1f} | "
                     f"{row.median('reads'):g} | {row.median('writes'):g} | {row.median('rss_mb'):.0f} | {seconds_list(row)} |")
    return lines


def time_split(rows):
    """Where each playbook's time goes, from the json callback's task timings of its median run."""
    lines = ["| playbook | total s | start-up s (before the 1st task) | module tasks (n / s) | controller tasks (n / s) | "
             "slowest tasks (s) |", "|---|--:|--:|--:|--:|---|"]
    for row in rows:
        if row.tool != "playbook":
            continue
        proc = row.median_sample().procs[0]
        data = proc.playbook_json()
        first_start = min(iso_seconds(play["play"]["duration"]["start"]) for play in data["plays"])
        per_name, kinds = Counter(), {"module": [0, 0.0], "controller": [0, 0.0]}
        for play in data["plays"]:
            for task in play["tasks"]:
                result = task["hosts"].get("localhost", {})
                seconds = iso_seconds(task["task"]["duration"]["end"]) - iso_seconds(task["task"]["duration"]["start"])
                per_name[task["task"]["name"]] += seconds
                kind = kinds["controller" if result.get("action") in CONTROLLER_ACTIONS else "module"]
                kind[0] += 0 if result.get("skipped") else 1
                kind[1] += seconds
        slowest = ", ".join(f"{name} {s:.1f}" for name, s in per_name.most_common(4))
        (modules, module_s), (controller, controller_s) = kinds["module"], kinds["controller"]
        lines.append(f"| {row.operation} | {proc.seconds:.1f} | {first_start - proc.started:.1f} | {modules} / {module_s:.1f} | "
                     f"{controller} / {controller_s:.1f} | {slowest} |")
    return lines


def iso_seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def scale_tables(points):
    lines = ["| clusters | of which stand-ins | DescribeStacks s | list playbook s | list CLI s (pages) | list reads playbook / CLI | "
             "describe playbook s | describe CLI s | describe reads playbook / CLI |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for p in points:
        r = p["rows"]
        lines.append(
            f"| {p['size']} | {p['standins']} | {r['DescribeStacks'].median('seconds'):.2f} | {r['list playbook'].median('seconds'):.2f} | "
            f"{r['list CLI'].median('seconds'):.2f} ({p['pages']}) | {r['list playbook'].median('reads'):g} / "
            f"{r['list CLI'].median('reads'):g} | {r['describe playbook'].median('seconds'):.2f} | "
            f"{r['describe CLI'].median('seconds'):.2f} | {r['describe playbook'].median('reads'):g} / "
            f"{r['describe CLI'].median('reads'):g} |")
    lines.append("")
    lines.append("| series | ms per cluster, first step | ms per cluster, last step | growth |")
    lines.append("|---|--:|--:|---|")
    for series in ("DescribeStacks", "list playbook", "list CLI", "describe playbook", "describe CLI"):
        lines.append(growth_line(series, [(p["size"], p["rows"][series].median("seconds")) for p in points]))
    return lines


NOISE_SECONDS = 0.5  # run-to-run noise of a few-second command on a shared 2-core machine
GROWTH_LIMIT = 2.0  # last step's cost per cluster over the first step's: 1 when linear, 5.5 when quadratic (10/100/500)


def growth_line(series, points):
    """Linear or better when the cost per added cluster of the last step is at most twice the first step's.

    The first step's cost is floored at NOISE_SECONDS over its clusters: below that it is noise, not a slope.
    """
    if len(points) < 3:
        return f"| {series} | | | needs 3 sizes |"
    (n0, t0), (n1, t1), (n2, t2) = points[0], points[-2], points[-1]
    first, last = (t1 - t0) / (n1 - n0) * 1000, (t2 - t1) / (n2 - n1) * 1000
    floor = NOISE_SECONDS / (n1 - n0) * 1000
    verdict = "linear or better" if last <= GROWTH_LIMIT * max(first, floor) else "WORSE than linear"
    return f"| {series} | {first:.2f} | {last:.2f} | {verdict} |"


# Issue 17's targets, against the bare CLI on the same emulator: (operation, wall-time limit, also CPU).
RATIO_TARGETS = (("describe", 1.1, True), ("create", 2.0, False), ("create again, no change", 1.5, False),
                 ("delete (until gone)", 2.0, False), ("list", 1.1, False))
PEAK_RSS_MB = 250  # the largest single process of a playbook
CONCURRENT_SHARE = 0.6  # concurrent creates: their wall time against the same creates run one after another


def targets(rows, concurrency=None):
    by = {(r.operation, r.tool): r for r in rows}
    verdicts = []
    for operation, limit, cpu_too in RATIO_TARGETS:
        row = by.get((operation, "playbook"))
        if not row:
            continue
        ratios = [("wall", row.ratio())]
        if cpu_too:
            ratios.append(("CPU", row.median("cpu") / row.baseline.median("cpu")))
        verdicts.append((f"{operation} playbook within {limit}x of the CLI" + (" (wall and CPU)" if cpu_too else ""),
                         ", ".join(f"{kind} {ratio:.2f}x" for kind, ratio in ratios),
                         all(ratio <= limit for _kind, ratio in ratios)))
    again = by.get(("create again, no change", "playbook"))
    if again:
        writes = [s.writes for s in again.samples]
        verdicts.append(("no-change create re-run makes zero mutating calls", f"writes per run: {writes}", max(writes) == 0))
    playbooks = [r for r in rows if r.tool == "playbook"]
    if playbooks:
        peak = max(max(s.rss_mb for s in r.samples) for r in playbooks)
        verdicts.append((f"largest process of any playbook at most {PEAK_RSS_MB} MB", f"{peak:.0f} MB", peak <= PEAK_RSS_MB))
    create = by.get(("create", "playbook"))
    if concurrency and create:
        sequential = concurrency["requests"] * create.median("seconds")
        share = concurrency["sample"].seconds / sequential
        verdicts.append((f"{concurrency['requests']} concurrent creates within {CONCURRENT_SHARE:.0%} of running them one "
                         "after another (their count times the create median)",
                         f"{concurrency['sample'].seconds:.0f} s vs {sequential:.0f} s ({share:.0%})",
                         share <= CONCURRENT_SHARE))
    return verdicts


def environment_lines(report, finished):
    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True,
                            check=False).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    return [
        f"- Date: {datetime.datetime.fromtimestamp(report.started, datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"the whole benchmark took {(finished - report.started) / 60:.1f} min",
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), {memory / 1024 / 1024:.0f} GB RAM, {platform.system()} {platform.release()}; "
        f"load average (1/5/15 min) {'/'.join(f'{x:.2f}' for x in report.load_before)} at the start, "
        f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())} at the end (other jobs share this machine)",
        f"- Versions: Python {platform.python_version()}, ansible-core {version('ansible-core')}, "
        f"aws-parallelcluster {PCLUSTER_VERSION}, boto3 {version('boto3')}, moto {version('moto')}, node {node}; "
        f"collection work tree at {commit or '?'} (\"-dirty\": with uncommitted changes)",
    ]


def render(bench, report, finished):
    args = bench.args
    out = ["# Benchmark: the lifecycle playbooks against the bare pcluster CLI", ""]
    out += environment_lines(report, finished)
    out += [f"- Runs per measurement: {args.runs} (medians); scale runs: {args.scale_runs}; "
            f"project: tier debug, storage efs_only, CloudWatch logs off, accounting off, no wait", ""]
    if report.rows:
        out += ["## Lifecycle operations", "",
                f"Same project configuration for both tools: the CLI creates each cluster from the configuration the "
                f"playbook rendered for its twin (read back from pcluster's artifact bucket; only the cluster name "
                f"differs). `list` lists all clusters ({report.listed} present; the CLI is run once per page). The CLI "
                f"side of `create again, no change` is `pcluster update-cluster` of its twin with the same configuration (it "
                f"answers \"No changes found\", exit 1). The CLI's configurations keep one of the head node's two "
                f"S3Access entries for the infra bucket: pcluster's diff pairs entries by bucket and would report a "
                f"change for an unchanged configuration. Of `delete`, `pcluster delete-cluster` then DescribeStacks every 0.25 s "
                f"until the stack is gone (those polls are in its reads).", ""]
        out += lifecycle_table(report.rows) + [""]
        out += ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
        out += [f"| {name} | {value} | {'PASS' if ok else 'FAIL'} |" for name, value, ok in targets(report.rows, report.concurrency)] + [""]
        out += ["### Where the playbooks' time goes (median run, json callback task timings)", ""]
        out += time_split(report.rows) + [""]
    if report.fixed:
        out += ["### Fixed costs on this machine (to read the split above)", "",
                "| command | median s | CPU s | peak RSS MB | runs (s) |", "|---|--:|--:|--:|---|"]
        out += [f"| {r.operation} | {r.median('seconds'):.2f} | {r.median('cpu'):.1f} | {r.median('rss_mb'):.0f} | {seconds_list(r)} |"
                for r in report.fixed] + [""]
    if report.scale:
        out += ["## Scale: list and describe with N clusters present", "",
                "Besides the real clusters of this run, the clusters are stand-ins: CloudFormation stacks with one "
                "`AWS::CloudFormation::WaitConditionHandle`, the `parallelcluster:version` tag (what makes a stack a cluster "
                "for pcluster's list_clusters), cost tags, and the parameters describe_cluster reads (Scheduler, ClusterUser, "
                "ResourcesS3Bucket, ArtifactS3RootDirectory, ConfigVersion: the real cluster's, so the stored configuration "
                "is found). `pcluster describe-cluster` accepts them. Both describe the same real cluster at every N; the CLI "
                "lists one DescribeStacks page (50 stacks in moto) per call, so it runs once per page. Growth: the cost "
                "per added cluster between the two largest sizes at most "
                f"{GROWTH_LIMIT:g}x that of the first step (floored at {NOISE_SECONDS:g} s over the first step's clusters: "
                "run-to-run noise). Linear growth gives 1x, quadratic 5.5x at 10/100/500; the CLI's one process per "
                "page of 50 gives steps. DescribeStacks is the emulator's side alone: every page, from this process "
                "with boto3.", ""]
        out += scale_tables(report.scale) + [""]
        for p in report.scale:
            if p["listed_playbook"] != p["size"] or p["listed_cli"] != p["size"]:
                out.append(f"- WARNING at {p['size']}: the playbook listed {p['listed_playbook']}, the CLI {p['listed_cli']}")
    if report.concurrency:
        c = report.concurrency
        sample = c["sample"]
        out += ["## Concurrency", "",
                f"{c['requests']} create playbooks (no wait) started at once: {c['projects']} projects, and a duplicate "
                f"request racing each of the first {c['duplicates']}. Subnet claims: "
                "`subnet_claim.claimed_subnets` of the claim table; configured subnets: pcluster's stored configuration.", "",
                f"- Wall time for all: {sample.seconds:.1f} s (median run {c['median_run']:.1f} s); "
                f"AWS calls: {sample.reads} reads, {sample.writes} writes; largest process {sample.rss_mb:.0f} MB",
                "- Outcomes: " + "; ".join(f"{n} {what}" for what, n in c["outcomes"].most_common()), "",
                "| check | verdict |", "|---|---|"]
        out += [f"| {name} | {'PASS' if ok else 'FAIL'} |" for name, ok in c["checks"].items()] + [""]
    out += ["## Method", "", METHOD]
    return "\n".join(out)


def readme_snippet(results, minutes):
    body = results.split("\n", 1)[1].replace("\n## ", "\n#### ").replace("\n### ", "\n#### ")
    return f"""### Benchmark: the playbooks against the bare pcluster CLI

```sh
bash scripts/benchmark.sh                      # 3 runs each, scale 10/100/500 clusters, 20 + 5 concurrent creates
bash scripts/benchmark.sh --runs 1 --scale 10,50,100 --concurrency 4 --duplicates 2   # a quicker look
bash scripts/benchmark.sh --skip scale --skip concurrency                             # lifecycle only
```

It starts an emulator of its own on a free port of 127.0.0.1, seeds a landing zone, and measures, side by side for
the same project configuration: the create playbook (no wait, efs_only, logs off) against `pcluster create-cluster` with
the configuration the playbook rendered, a no-change create re-run, describe, list and delete against their CLI
commands (wall-time medians, ratio to the CLI, AWS calls split into reads and writes from the emulator's request log,
peak memory); list and describe with 10, 100 and 500 clusters present (stand-in stacks); and concurrent creates
(exactly one cluster per project, no subnet held twice). It prints the targets with PASS/FAIL and writes
`benchmarks/results.md`. With the defaults it ran {minutes:.0f} minutes on the 2-core machine below (other jobs
running too), most of it in the concurrent creates and the 500-cluster lists.

Last results:
{body}"""


# Entry point ------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--endpoint", required=True, help="the emulator (http://127.0.0.1:PORT)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--scale", default="10,100,500", help="cluster counts for list/describe ('' to skip)")
    parser.add_argument("--scale-runs", type=int, help="runs per size (default: --runs)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent creates for distinct projects (0 to skip)")
    parser.add_argument("--duplicates", type=int, default=5, help="duplicate creates racing the first ones")
    parser.add_argument("--subnets", type=int, help="compute subnets to seed (default: enough for every cluster)")
    parser.add_argument("--skip", action="append", default=[], choices=["lifecycle", "scale", "concurrency"])
    parser.add_argument("--timeout", type=int, default=900, help="seconds per command")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results.md"))
    parser.add_argument("--readme-snippet", default=str(REPO / ".build" / "readme-benchmark.md"))
    args = parser.parse_args(argv)
    args.scale = [] if "scale" in args.skip or "lifecycle" in args.skip else sorted(int(n) for n in args.scale.split(",") if n)
    args.concurrency = 0 if "concurrency" in args.skip else args.concurrency
    args.duplicates = min(args.duplicates, args.concurrency)
    args.scale_runs = args.scale_runs or args.runs
    if args.runs < 1 or args.scale_runs < 1:
        parser.error("--runs and --scale-runs must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    report = Report(time.time(), os.getloadavg())
    emulator = Emulator(args.endpoint)
    # Subnets: the warm-up cluster, the measured ones (released again by delete) and the concurrent ones.
    subnets = args.subnets or max(4, args.runs + 2, args.concurrency + 4)
    log(f"seeding a landing zone with {subnets} compute subnets")
    zone = seed(args.endpoint, prefix=SEED_PREFIX, subnet_count=subnets)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="benchmark-site-", delete=False) as site:
        json.dump(dict(site_settings(zone), **SITE_OVERRIDES), site)
    bench = Bench(args, emulator, site.name, zone)
    try:
        if "lifecycle" not in args.skip:
            lifecycle(bench, report)
        if args.concurrency:
            concurrency(bench, report)
    finally:
        os.unlink(site.name)
        shutil.rmtree(bench.workdir, ignore_errors=True)
    finished = time.time()
    results = render(bench, report, finished)
    Path(args.output).write_text(results + "\n")
    Path(args.readme_snippet).parent.mkdir(parents=True, exist_ok=True)
    Path(args.readme_snippet).write_text(readme_snippet(results, (finished - report.started) / 60))
    print(results)
    log(f"written {args.output} and {args.readme_snippet}")
    verdicts = targets(report.rows, report.concurrency) + [(n, "", ok) for n, ok in (report.concurrency or {}).get("checks", {}).items()]
    return 0 if all(ok for _n, _v, ok in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
