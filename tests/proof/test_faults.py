"""Fault injection through the emulator's switches: every flow either succeeds or fails saying why, and afterwards
the orphan check (tests/lifecycle_helpers.orphans) finds nothing that belongs to a project without a cluster.
Each test has a vlab of its own, so that what one failing test leaves behind fails only its own orphan check."""
# pylint: disable=missing-function-docstring  # the test names say what they check

from lifecycle_helpers import clusters, lifecycle, orphans

PREFIX = "flt"


def assert_clean(emu, site, request):
    assert f"pcluster-{request['vlab_id']}-{request['project_id']}" not in clusters(emu)
    assert orphans(emu, request["vlab_id"], site["hpc_infra_bucket"]) == []


def test_every_flow_succeeds_with_30_percent_throttling(emu, run_playbook, site, zone):
    request = {"vlab_id": "fltt", "project_id": "thr"}
    emu.control("POST", "faults/throttle", {"service": "*", "fraction": 0.3})
    try:
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
        described = lifecycle(run_playbook, "describe", site, **request)
        listed = lifecycle(run_playbook, "list", site, vlab_id=request["vlab_id"])
        deleted = lifecycle(run_playbook, "delete", site, **request)
        throttled = emu.requests()["throttled"]
    finally:
        emu.control("DELETE", "faults")
    for run in (created, described, listed, deleted):
        assert run.rc == 0, run.stdout[-3000:]
    assert created.stats_data["clusterStatus"] == "CREATE_COMPLETE"
    assert described.stats_data["clusterStatus"] == "CREATE_COMPLETE"
    assert deleted.stats_data["clusterStatus"] == "DELETE_COMPLETE"
    assert throttled > 10, emu.requests()
    assert_clean(emu, site, request)


def test_a_stack_that_ends_create_failed_is_reported_and_deleted(emu, run_playbook, site):
    request = {"vlab_id": "fltc", "project_id": "cf"}
    emu.control("POST", "faults/stack_create_failed", {"reason": "Head node bootstrap failed (injected)"})
    try:
        created = lifecycle(run_playbook, "create", site, wait=True, **request)
    finally:
        emu.control("DELETE", "faults")
    assert created.rc != 0
    assert "Head node bootstrap failed (injected)" in created.stats_data["error"]["message"], created.stats_data
    assert "pcluster-fltc-cf" in clusters(emu)  # kept for inspection (no rollback), until deleted
    deleted = lifecycle(run_playbook, "delete", site, **request)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert_clean(emu, site, request)


def test_a_dra_that_ends_failed_is_reported_then_repaired(emu, run_playbook, site, zone):
    fsx = emu.client("fsx")
    fs_id = fsx.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[zone["service_subnet_ids"][0]["id"]],
        SecurityGroupIds=[zone["security_group_id"]],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250})["FileSystem"]["FileSystemId"]
    request = {"vlab_id": "fltd", "project_id": "dra", "storage": "existing_fsx", "hpc_existing_fsx_id": fs_id}
    emu.control("POST", "faults/dra_failed", {"lifecycle": "FAILED", "message": "S3 access denied (injected)"})
    try:
        failed = lifecycle(run_playbook, "create", site, **request)
        assert failed.rc != 0
        assert "FAILED" in failed.stats_data["error"]["message"] and failed.stats_data["error"]["task"] == \
            "Project data on the shared file system", failed.stats_data
        repaired = lifecycle(run_playbook, "create", site, **request)  # the FAILED association is made again
        assert repaired.rc == 0, repaired.stdout[-3000:]
    finally:
        emu.control("DELETE", "faults")  # one-shot, but still queued when the run failed before making a DRA
        deleted = lifecycle(run_playbook, "delete", site, **request)
    assert deleted.rc == 0, deleted.stdout[-3000:]
    assert_clean(emu, site, request)
