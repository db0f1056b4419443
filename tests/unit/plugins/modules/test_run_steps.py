"""Each module's Run maps every outcome its plan can return to a method (STEPS), and nothing else.

A plan's outcome without a method would fail the run with a KeyError, so the outcomes are enumerated here
from the plans themselves over the inputs that reach every branch.
"""
# pylint: disable=missing-function-docstring  # the test names say what they check

import itertools

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_plan as plan
from ansible_collections.obi.hpc_provisioner.plugins.modules import fsx_dra
from ansible_collections.obi.hpc_provisioner.plugins.modules import pcluster_cluster
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair_run import KeypairRun

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY"


def test_keypair_run_has_a_method_for_each_step_of_plan_present():
    key_pairs = [None, {"KeyName": "k", "PublicKey": PUB}]
    secrets = [None, {"secure": True, "tags": {}}, {"secure": False, "tags": {}}]
    stored = [None, {"public_key": PUB, "key_type": "ed25519"}, {"public_key": "ssh-ed25519 OTHER", "key_type": "ed25519"},
              {"public_key": None, "key_type": None}, {"public_key": "ssh-rsa AAAA", "key_type": "rsa"}]
    steps = set()
    for key_pair, secret, read, recreate in itertools.product(key_pairs, secrets, stored, (False, True)):
        ctx = {"name": "k", "key_type": "ed25519", "secret_store": "ssm", "secret_name": "/k", "recreate": recreate}
        try:
            steps.update(kp.plan_present(key_pair, secret, read, ctx))
        except kp.HalfStateError:
            pass
    assert steps == set(KeypairRun.STEPS)


def test_dra_run_has_a_method_for_each_outcome_of_present():
    params = {"data_repository_path": "s3://b/p/", "repository_conflict": "replace", "file_system_path": "/p"}
    outcomes = {dra.CREATE, fsx_dra.CONVERGE}  # no association at the path; one that stays
    for repository, lifecycle in itertools.product(("s3://b/p/", "s3://b/other/"), ("AVAILABLE", "FAILED")):
        outcomes.add(dra.replacement({"DataRepositoryPath": repository, "Lifecycle": lifecycle}, params))
    outcomes.discard(None)
    assert outcomes == set(fsx_dra.DraRun.STEPS)


def test_cluster_run_has_a_method_for_each_outcome_of_both_states():
    statuses = [plan.GONE, "CREATE_COMPLETE", "UPDATE_COMPLETE", "CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS",
                *plan.CREATE_FAILED_STACK_STATUSES, *plan.STUCK_STACK_STATUSES]
    outcomes = {("present", plan.present_action(status, policy))
                for status, policy in itertools.product(statuses, plan.CREATE_FAILED_POLICIES)}
    outcomes |= {("absent", plan.absent_action(status)) for status in statuses}
    assert outcomes == set(pcluster_cluster.ClusterRun.STEPS)
