"""Helpers of the tests that run the lifecycle playbooks (create, describe, list, update, delete) on the emulator."""

import re
import shutil
import threading
from pathlib import Path

import yaml

from emulator import seed
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim


def site_settings(zone):
    """The site settings of a seeded landing zone, for tests that delete and make clusters again quickly."""
    return dict(
        seed.site_settings(zone),
        # CloudWatch logs off: pcluster names its retained log group after the creation minute, and the tests delete
        # and make clusters again within a minute.
        hpc_logs_enabled=False, storage="efs_only",
        # As in production: a subnet is claimed only while wholly unused (the emulator frees the addresses of
        # terminated instances and deleted interfaces, so a subnet is unused again once its cluster is gone).
        hpc_require_unused_subnets=True,
    )


def lifecycle(run_playbook, playbook, site, name=None, **extra):
    """Run obi.hpc_provisioner.<playbook> as `ansible-playbook` would (imported by FQCN); stats_data: its set_stats."""
    text = yaml.safe_dump([{"ansible.builtin.import_playbook": f"obi.hpc_provisioner.{playbook}"}])
    run = run_playbook(text, extra_vars=dict(site, **extra), name=name or playbook)
    run.stats_data = run.json.get("global_custom_stats", {})
    return run


REPO_ROOT = Path(__file__).resolve().parent.parent


def collection_copy(destination):
    """A copy of this collection's source tree at destination (without .git, the virtualenv, build outputs, caches):
    a collection whose files a test may change, never the repository's. Returns its path."""
    shutil.copytree(REPO_ROOT, destination, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".build", ".emulator", "__pycache__", ".pytest_cache", "*.tar.gz"))
    return Path(destination)


def run_together(*calls):
    """Run the calls at once (threads); their results in order."""
    results = [None] * len(calls)

    def run(index, call):
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(900)
    return results


def writes(emu):
    """Mutating AWS calls in the emulator's request log."""
    return sum(c["count"] for c in emu.requests()["calls"] if c["kind"] == "write")


def claims(emu, zone):
    """Subnet id -> cluster holding it."""
    return subnet_claim.claimed_subnets(emu.client("dynamodb"), zone["claim_table"])


def stacks(emu):
    return {s["StackName"] for s in _stacks(emu)}


_CLUSTER = re.compile(r"pcluster-[a-z0-9-]+?(?=_sim$|-\d{12}$|$)")


def clusters(emu):
    """Names of the clusters that exist: pcluster's top-level stacks (a failed one is still a cluster until deleted)."""
    return {s["StackName"] for s in _stacks(emu)
            if "ParentId" not in s and any(t["Key"] == "parallelcluster:version" for t in s.get("Tags", []))}


def orphans(emu, vlab, infra_bucket=None):
    """Everything the collection made for a project of ``vlab`` whose cluster does not exist: must be empty after any flow.

    Key pairs and their secrets, subnet claims, the project's DRAs, stacks of a cluster that is gone (nested leftovers),
    its REST security group, its log groups, and its node assets in the infra bucket. A resource is the vlab's by its
    cost tag (obp:costcenter:vlabid), its claim attribute or node variables (vlab_id), or else by the old name form
    pcluster-<vlab>-...: short names (a digest of both ids) say nothing of the vlab. One vlab per test file: the
    session's emulator also holds what other test files made on purpose.
    """
    alive = clusters(emu)
    found = []
    seen = set()  # cluster names known to be this vlab's

    def check(kind, name, cluster, owner=None):
        ours = owner == vlab if owner is not None else bool(cluster) and (
            cluster.startswith(f"pcluster-{vlab}-") or cluster in seen)
        if ours:
            seen.add(cluster)
            if cluster not in alive:
                found.append(f"{kind} {name}")

    ec2, secrets, fsx, logs = (emu.client(s) for s in ("ec2", "secretsmanager", "fsx", "logs"))
    for key in ec2.describe_key_pairs()["KeyPairs"]:
        check("key pair", key["KeyName"], key["KeyName"].removesuffix("_sim"), _tags(key).get(VLAB_TAG))
    for page in secrets.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            check("secret", secret["Name"], secret["Name"].removesuffix("_sim"), _tags(secret).get(VLAB_TAG))
    ddb = emu.client("dynamodb")
    for table in ddb.list_tables()["TableNames"]:
        if table.endswith("subnet-claims"):
            for page in ddb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    check("subnet claim", f"{table}/{item['subnet_id']['S']}", item["cluster"]["S"],
                          item.get("vlab_id", {}).get("S"))
    for association in fsx.describe_data_repository_associations()["Associations"]:
        tags = _tags(association)
        if VLAB_TAG in tags and association["Lifecycle"] != "DELETING":
            candidates = names.cluster_name_candidates(tags[VLAB_TAG], tags.get("obp:costcenter:project", ""))
            check("DRA", association["AssociationId"], next((c for c in candidates if c in alive), candidates[0]),
                  tags[VLAB_TAG])
    for stack in _stacks(emu):
        tags = _tags(stack)
        check("stack", stack["StackName"], tags.get("parallelcluster:cluster-name"), tags.get(VLAB_TAG))
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        if group["GroupName"].endswith(REST_GROUP_SUFFIX):
            check("security group", group["GroupName"], group["GroupName"].removesuffix(REST_GROUP_SUFFIX),
                  _tags(group).get(VLAB_TAG))
    if infra_bucket:
        s3 = emu.client("s3")
        listed = s3.list_objects_v2(Bucket=infra_bucket, Prefix="hpc_provisioner/node/clusters/").get("Contents", [])
        for item in sorted(listed, key=lambda item: not item["Key"].endswith("/node_vars.yml")):
            owner = None
            if item["Key"].endswith("/node_vars.yml"):
                node_vars = yaml.safe_load(s3.get_object(Bucket=infra_bucket, Key=item["Key"])["Body"].read())
                owner = node_vars.get("node_bootstrap_vlab_id")
            check("node asset", item["Key"], item["Key"].split("/")[3], owner)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            job_logs = re.fullmatch(r"/obi/hpc/([^/]+)/([^/]+)", name)
            if job_logs:
                check("log group", name, names.cluster_name(job_logs[1], job_logs[2]), job_logs[1])
                continue
            match = _CLUSTER.search(name)
            check("log group", name, match and match.group(0))
    return found


VLAB_TAG = "obp:costcenter:vlabid"
REST_GROUP_SUFFIX = "-slurm-rest"  # the head node's REST security group (playbooks/vars/lifecycle.yml)


def _tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def _stacks(emu):
    return [s for page in emu.client("cloudformation").get_paginator("describe_stacks").paginate() for s in page["Stacks"]]


def inventory(emu):
    """Every resource a flow of this collection can make, as (kind, id) pairs: compare before and after a flow."""
    ec2, secrets, fsx, logs, s3, ddb = (emu.client(s) for s in ("ec2", "secretsmanager", "fsx", "logs", "s3", "dynamodb"))
    found = {("key pair", k["KeyName"]) for k in ec2.describe_key_pairs()["KeyPairs"]}
    found |= {("secret", s["Name"]) for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]}
    found |= {("parameter", p["Name"]) for page in emu.client("ssm").get_paginator("describe_parameters").paginate()
              for p in page["Parameters"]}
    found |= {("stack", s["StackName"]) for s in _stacks(emu)}
    found |= {("file system", f["FileSystemId"]) for f in fsx.describe_file_systems()["FileSystems"]}
    found |= {("DRA", a["AssociationId"]) for a in fsx.describe_data_repository_associations()["Associations"]}
    found |= {("log group", g["logGroupName"]) for page in logs.get_paginator("describe_log_groups").paginate()
              for g in page["logGroups"]}
    for bucket in s3.list_buckets()["Buckets"]:
        found |= {("object", f"{bucket['Name']}/{o['Key']}")
                  for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]) for o in page.get("Contents", [])}
    for table in ddb.list_tables()["TableNames"]:
        if table.endswith("subnet-claims"):
            found |= {("claim", f"{table}/{subnet}") for subnet in subnet_claim.claimed_subnets(ddb, table)}
    return found
