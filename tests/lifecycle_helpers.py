"""Helpers of the tests that run the lifecycle playbooks (create, describe, list, update, delete) on the emulator."""

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
    return {s["StackName"] for s in emu.client("cloudformation").describe_stacks()["Stacks"]}
