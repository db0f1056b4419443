"""Helpers of the tests that run the lifecycle playbooks (create, describe, list, update, delete) on the emulator."""

import re

import yaml

from emulator import seed
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import subnet_claim


def site_settings(zone):
    """The site settings of a seeded landing zone, for tests that delete and make clusters again quickly."""
    return dict(
        seed.site_settings(zone),
        # CloudWatch logs off: pcluster names its retained log group after the creation minute, and the tests delete
        # and make clusters again within a minute.
        hpc_logs_enabled=False, storage="efs_only",
        # moto keeps the addresses of terminated instances in use, so a subnet never looks unused again after a
        # cluster was deleted from it; test_subnet_claim covers require_unused.
        hpc_require_unused_subnets=False,
    )


def lifecycle(run_playbook, playbook, site, name=None, **extra):
    """Run obi.hpc_provisioner.<playbook> as `ansible-playbook` would (imported by FQCN); stats_data: its set_stats."""
    text = yaml.safe_dump([{"ansible.builtin.import_playbook": f"obi.hpc_provisioner.{playbook}"}])
    run = run_playbook(text, extra_vars=dict(site, **extra), name=name or playbook)
    run.stats_data = run.json.get("global_custom_stats", {})
    return run


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

    Key pairs and their secrets (pcluster-<vlab>-<project>[_sim]), subnet claims, the project's DRAs (cost tags),
    stacks of a cluster that is gone (nested leftovers), its log groups, and its node variables in the infra bucket.
    One vlab per test file: the session's emulator also holds what other test files made on purpose.
    """
    alive = clusters(emu)
    found = []

    def check(kind, name, cluster):
        if cluster and cluster.startswith(f"pcluster-{vlab}-") and cluster not in alive:
            found.append(f"{kind} {name}")

    ec2, secrets, fsx, logs = (emu.client(s) for s in ("ec2", "secretsmanager", "fsx", "logs"))
    for key in ec2.describe_key_pairs()["KeyPairs"]:
        check("key pair", key["KeyName"], key["KeyName"].removesuffix("_sim"))
    for page in secrets.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            check("secret", secret["Name"], secret["Name"].removesuffix("_sim"))
    for table in emu.client("dynamodb").list_tables()["TableNames"]:
        if table.endswith("subnet-claims"):
            for subnet, cluster in subnet_claim.claimed_subnets(emu.client("dynamodb"), table).items():
                check("subnet claim", f"{table}/{subnet}", cluster)
    for association in fsx.describe_data_repository_associations()["Associations"]:
        tags = {t["Key"]: t["Value"] for t in association.get("Tags", [])}
        if "obp:costcenter:vlabid" in tags and association["Lifecycle"] != "DELETING":
            check("DRA", association["AssociationId"],
                  f"pcluster-{tags['obp:costcenter:vlabid']}-{tags.get('obp:costcenter:project')}")
    for stack in _stacks(emu):
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
        check("stack", stack["StackName"], tags.get("parallelcluster:cluster-name"))
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            job_logs = re.fullmatch(r"/obi/hpc/([^/]+)/([^/]+)", name)
            match = _CLUSTER.search(name)
            check("log group", name, f"pcluster-{job_logs[1]}-{job_logs[2]}" if job_logs else match and match.group(0))
    if infra_bucket:
        listed = emu.client("s3").list_objects_v2(Bucket=infra_bucket, Prefix="hpc_provisioner/node/clusters/")
        for item in listed.get("Contents", []):
            check("node asset", item["Key"], item["Key"].split("/")[3])
    return found


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
