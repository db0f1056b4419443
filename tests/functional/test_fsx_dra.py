"""fsx_dra and fsx_dra_info through ansible-playbook against the emulator over HTTP.

Each test makes its own Lustre file system (the emulator is shared by the session), so paths may repeat across
tests; S3 paths carry the test's unique name all the same. The emulator's request log tells mutating calls
(writes) from reads; the emu fixture resets it, throttling, faults and timings around each test.
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import uuid

import pytest

REGION = "us-east-1"
MODULE = "obi.hpc_provisioner.fsx_dra"
INFO = "obi.hpc_provisioner.fsx_dra_info"
INSTANT = {"dra_create_seconds": 0, "dra_update_seconds": 0, "dra_delete_seconds": 0}


@pytest.fixture
def play(emu, run_playbook):  # pylint: disable=unused-argument  # emu: faults and request log reset per test
    """Run tasks against the emulator: run_playbook sets the connection as group/obi.hpc_provisioner.aws defaults."""
    return run_playbook


@pytest.fixture(scope="module")
def subnet_id(emulator):
    ec2 = emulator.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.78.1.0/24")["Subnet"]["SubnetId"]


@pytest.fixture
def fsx(emu):
    return emu.client("fsx")


@pytest.fixture
def lustre(emu, fsx, subnet_id):
    """A factory of PERSISTENT_2 Lustre file systems with a unique Name tag; returns (id, name).
    The request log is reset after each, so that it holds the test's own calls only."""

    def create():
        name = unique("lustre")
        created = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                         LustreConfiguration={"DeploymentType": "PERSISTENT_2",
                                                              "PerUnitStorageThroughput": 250},
                                         Tags=[{"Key": "Name", "Value": name}])["FileSystem"]
        emu.control("DELETE", "requests")
        return created["FileSystemId"], name

    return create


@pytest.fixture
def fs_id(lustre):
    return lustre()[0]


@pytest.fixture
def instant(emu):
    emu.control("POST", "settings", INSTANT)


def unique(prefix="it"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bucket_path(*parts):
    return "s3://" + "/".join(("obi-it-data",) + parts) + "/"


def dra(title="dra", **options):
    return {"name": title, MODULE: options, "ignore_errors": True}


def info(title="info", **options):
    return {"name": title, INFO: options}


def ok(run):
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run


def writes(emu):
    return [c["operation"] for c in emu.requests()["calls"] if c["kind"] == "write"]


def count(emu, operation):
    return sum(c["count"] for c in emu.requests()["calls"] if c["operation"] == operation)


def associations_on(fsx, fs_id):
    found = fsx.describe_data_repository_associations(Filters=[{"Name": "file-system-id", "Values": [fs_id]}])
    return found["Associations"]


def associate(fsx, fs_id, path, repository, **kwargs):
    return fsx.create_data_repository_association(FileSystemId=fs_id, FileSystemPath=path,
                                                  DataRepositoryPath=repository, **kwargs)["Association"]


def failed(result):
    assert result.get("failed"), result
    return result["msg"]


# --- present: create, wait, idempotence -----------------------------------------------------------------------------

def test_create_waits_until_available_and_a_rerun_makes_no_mutating_call(emu, play, fsx, lustre):
    fs_id, fs_name = lustre()
    emu.control("POST", "settings", {"dra_create_seconds": 2})
    repository = bucket_path(unique("public"))
    options = dict(file_system_name=fs_name, file_system_path="/project/public", data_repository_path=repository,
                   batch_import_meta_data_on_create=True, auto_import_policy=["DELETED", "NEW", "CHANGED"],
                   tags={"obp:costcenter:vlabid": "vlab-it", "obp:costcenter:project": "proj-it"})

    created = ok(play([dra("create", **options)])).results("create")

    assert created["changed"] is True and created["actions"] == ["create"]
    association = created["association"]
    assert association["lifecycle"] == "AVAILABLE"
    assert association["association_id"].startswith("dra-")
    assert association["resource_arn"].endswith(f"/{fs_id}/{association['association_id']}")
    assert association["file_system_id"] == fs_id
    assert association["file_system_path"] == "/project/public"
    assert association["data_repository_path"] == repository
    assert association["batch_import_meta_data_on_create"] is True
    assert association["auto_import_policy"] == ["NEW", "CHANGED", "DELETED"]
    assert association["auto_export_policy"] == []
    assert association["tags"] == {"obp:costcenter:vlabid": "vlab-it", "obp:costcenter:project": "proj-it"}
    assert 1.5 <= created["waited_seconds"] < 15
    assert writes(emu) == ["CreateDataRepositoryAssociation"]
    assert [a["Lifecycle"] for a in associations_on(fsx, fs_id)] == ["AVAILABLE"]

    emu.control("DELETE", "requests")
    again = ok(play([dra("again", **options)])).results("again")

    assert again["changed"] is False and again["actions"] == [] and again["waited_seconds"] == 0
    assert again["association"]["association_id"] == association["association_id"]
    assert emu.requests()["writes"] == 0
    assert count(emu, "DescribeDataRepositoryAssociations") == 1


def test_check_mode_predicts_a_create_without_any_mutating_call(emu, play, fsx, fs_id, instant):
    repository = bucket_path(unique("check"))
    result = ok(play([dra("check", file_system_id=fs_id, file_system_path="/scratch", data_repository_path=repository,
                          auto_export_policy=["NEW"])], check=True, diff=True)).results("check")

    assert result["changed"] is True and result["actions"] == ["create"]
    assert result["association"]["data_repository_path"] == repository
    assert result["association"]["auto_export_policy"] == ["NEW"]
    assert "association_id" not in result["association"]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["file_system_path"] == "/scratch"
    assert emu.requests()["writes"] == 0
    assert not associations_on(fsx, fs_id)


# --- present: updates -------------------------------------------------------------------------------------------

def test_policy_and_chunk_size_update_in_place_with_a_diff(emu, play, fsx, fs_id):
    emu.control("POST", "settings", {"dra_create_seconds": 0, "dra_update_seconds": 1})
    repository = bucket_path(unique("private"))
    base = dict(file_system_id=fs_id, file_system_path="/project/private", data_repository_path=repository)
    original = associate(fsx, fs_id, "/project/private", repository, S3={"AutoImportPolicy": {"Events": ["NEW"]}})
    emu.control("DELETE", "requests")

    checked = ok(play([dra("check", **base, auto_export_policy=["NEW", "CHANGED"])], check=True)).results("check")
    assert checked["changed"] is True and checked["actions"] == ["update"]
    assert emu.requests()["writes"] == 0

    updated = ok(play([dra("update", **base, imported_file_chunk_size=2048, auto_export_policy=["NEW", "CHANGED"])],
                      diff=True)).results("update")

    assert updated["changed"] is True and updated["actions"] == ["update"]
    assert updated["association"]["association_id"] == original["AssociationId"]
    assert updated["association"]["lifecycle"] == "AVAILABLE"
    assert updated["waited_seconds"] >= 0.5
    before, after = updated["diff"]["before"], updated["diff"]["after"]
    assert {key for key in before if before[key] != after[key]} == {"imported_file_chunk_size", "auto_export_policy"}
    assert (before["auto_export_policy"], after["auto_export_policy"]) == ([], ["NEW", "CHANGED"])
    assert (before["imported_file_chunk_size"], after["imported_file_chunk_size"]) == (1024, 2048)
    assert after["auto_import_policy"] == ["NEW"]  # not given: kept
    assert writes(emu) == ["UpdateDataRepositoryAssociation"]
    described = associations_on(fsx, fs_id)[0]
    assert described["S3"] == {"AutoImportPolicy": {"Events": ["NEW"]}, "AutoExportPolicy": {"Events": ["NEW", "CHANGED"]}}


def test_tags_are_set_and_purged_on_an_existing_association(emu, play, fsx, fs_id, instant):
    repository = bucket_path(unique("tags"))
    associate(fsx, fs_id, "/scratch", repository, Tags=[{"Key": "old", "Value": "1"}, {"Key": "keep", "Value": "k"}])
    emu.control("DELETE", "requests")

    result = ok(play([dra("tags", file_system_id=fs_id, file_system_path="/scratch/", data_repository_path=repository,
                          tags={"keep": "k", "new": "2"})], diff=True)).results("tags")

    assert result["actions"] == ["update_tags"]
    assert result["association"]["tags"] == {"keep": "k", "new": "2"}
    assert result["diff"]["before"]["tags"] == {"old": "1", "keep": "k"}
    assert result["diff"]["after"]["tags"] == {"keep": "k", "new": "2"}
    assert sorted(writes(emu)) == ["TagResource", "UntagResource"]
    arn = associations_on(fsx, fs_id)[0]["ResourceARN"]
    assert fsx.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "keep", "Value": "k"}, {"Key": "new", "Value": "2"}]


# --- present: conflicts and checks before any write ---------------------------------------------------------------

def test_a_conflicting_s3_path_fails_by_default_and_is_replaced_when_asked(emu, play, fsx, fs_id, instant):
    old, new = bucket_path(unique("old")), bucket_path(unique("new"))
    existing = associate(fsx, fs_id, "/project/private", old)
    emu.control("DELETE", "requests")
    options = dict(file_system_id=fs_id, file_system_path="/project/private", data_repository_path=new)

    refused = play([dra("refused", **options)]).results("refused")

    message = failed(refused)
    assert existing["AssociationId"] in message and old in message and new in message
    assert "repository_conflict=replace" in message
    assert refused["changed"] is False
    assert emu.requests()["writes"] == 0

    replaced = ok(play([dra("replace", **options, repository_conflict="replace")])).results("replace")

    assert replaced["changed"] is True and replaced["actions"] == ["replace", "create"]
    assert replaced["association"]["data_repository_path"] == new
    assert replaced["association"]["association_id"] != existing["AssociationId"]
    assert sorted(writes(emu)) == ["CreateDataRepositoryAssociation", "DeleteDataRepositoryAssociation"]
    assert [a["AssociationId"] for a in associations_on(fsx, fs_id)] == [replaced["association"]["association_id"]]


def test_nested_paths_a_shared_s3_path_and_an_unknown_file_system_fail_before_any_write(emu, play, fsx, fs_id, instant):
    existing = associate(fsx, fs_id, "/data/project", bucket_path(unique("data")))
    emu.control("DELETE", "requests")
    cases = {"/data/project/sub": "is inside", "/data": "contains", "/": "contains", "/data/project/": "is the same directory as"}
    tasks = [dra(path, file_system_id=fs_id, file_system_path=path, data_repository_path=bucket_path(unique("other")))
             for path in cases]
    tasks += [dra("twice", file_system_id=fs_id, file_system_path="/scratch",
                  data_repository_path=existing["DataRepositoryPath"]),
              dra("unknown", file_system_id="fs-0123456789abcdef0", file_system_path="/p",
                  data_repository_path=bucket_path(unique("p")))]

    run = play(tasks)

    for path, relation in cases.items():
        if path == "/data/project/":
            continue  # the same directory is the association itself: its S3 path conflicts (see the replace test)
        message = failed(run.results(path))
        assert f"file_system_path: {path} {relation} /data/project, the path of association {existing['AssociationId']}" \
            in message
    assert "repository_conflict=replace" in failed(run.results("/data/project/"))
    assert f"data_repository_path: {existing['DataRepositoryPath']} is already linked" in failed(run.results("twice"))
    assert "file_system_id: no FSx file system fs-0123456789abcdef0" in failed(run.results("unknown"))
    assert emu.requests()["writes"] == 0


def test_a_ninth_association_fails_before_any_write(emu, play, fsx, fs_id, instant):
    for n in range(8):
        associate(fsx, fs_id, f"/dir{n}", bucket_path(unique(f"d{n}")))
    emu.control("DELETE", "requests")

    result = play([dra("ninth", file_system_id=fs_id, file_system_path="/dir8", data_repository_path=bucket_path(unique()))])

    message = failed(result.results("ninth"))
    assert f"file_system_id: {fs_id} already has 8 data repository associations" in message
    assert "(8): delete one first" in message
    assert emu.requests()["writes"] == 0


INVALID = {
    "relative": ({"file_system_path": "project"}, "file_system_path: 'project' is not absolute"),
    "dotdot": ({"file_system_path": "/project/../scratch"}, "file_system_path: '/project/../scratch' must not contain"),
    "not-s3": ({"data_repository_path": "https://bucket/prefix"}, "data_repository_path: 'https://bucket/prefix' is not"),
    "bucket": ({"data_repository_path": "s3://Bad_Bucket/prefix"}, "data_repository_path: 'Bad_Bucket'"),
    "missing-s3": ({"data_repository_path": None}, "data_repository_path: None is not an S3 URI"),
    "chunk-size": ({"imported_file_chunk_size": 0}, "imported_file_chunk_size: must be between 1 and 512000"),
    "event": ({"auto_import_policy": ["NEW", "MODIFIED"]}, "auto_import_policy must be one or more of"),
    "duplicate": ({"auto_export_policy": ["NEW", "NEW"]}, "auto_export_policy: NEW given more than once"),
    "fs-id": ({"file_system_id": "fsx-123"}, "file_system_id: 'fsx-123' is not a file system id"),
    "timeout": ({"wait_timeout": 0}, "wait_timeout: must be at least 1"),
    "tag": ({"tags": {"aws:owner": "x"}}, "tags: key 'aws:owner' is not allowed: the prefix 'aws:' is reserved by AWS"),
}


def test_invalid_input_fails_naming_the_field_before_any_aws_call(emu, play):
    tasks = []
    for title, (options, _message) in INVALID.items():
        arguments = dict({"file_system_id": "fs-0123456789abcdef0", "file_system_path": "/project",
                          "data_repository_path": "s3://obi-it-data/prefix/"}, **options)
        tasks.append(dra(title, **{key: value for key, value in arguments.items() if value is not None}))

    run = play(tasks)

    for title, (_options, message) in INVALID.items():
        assert message in failed(run.results(title)), title
    assert emu.requests()["calls"] == []


# --- present: failures, timeouts, repairs -------------------------------------------------------------------------

@pytest.mark.parametrize("lifecycle,repair", [("FAILED", ["recreate_failed", "create"]),
                                              ("MISCONFIGURED", ["reapply_configuration"])])
def test_a_failed_or_misconfigured_association_fails_with_aws_reason_and_a_rerun_repairs_it(
        emu, play, fsx, fs_id, lifecycle, repair):
    emu.control("POST", "settings", {"dra_create_seconds": 1, "dra_update_seconds": 0, "dra_delete_seconds": 0})
    reason = f"Access Denied on {unique('bucket')} (emulated)"
    emu.control("POST", "faults/dra_failed", {"lifecycle": lifecycle, "message": reason})
    options = dict(file_system_id=fs_id, file_system_path="/project", data_repository_path=bucket_path(unique("f")),
                   auto_import_policy=["NEW"])

    result = play([dra("create", **options)]).results("create")

    message = failed(result)
    assert reason in message and lifecycle in message
    assert result["association"]["lifecycle"] == lifecycle
    assert result["association"]["failure_details"] == {"message": reason}
    assert result["changed"] is True and result["actions"] == ["create"]

    emu.control("DELETE", "requests")
    repaired = ok(play([dra("repair", **options)])).results("repair")

    assert repaired["actions"] == repair
    assert repaired["association"]["lifecycle"] == "AVAILABLE"
    assert "failure_details" not in repaired["association"]
    assert len(associations_on(fsx, fs_id)) == 1


def test_a_rerun_after_a_timeout_waits_for_the_same_creating_association(emu, play, fsx, fs_id):
    emu.control("POST", "settings", {"dra_create_seconds": 10})  # outlasts the first run and the second's start
    options = dict(file_system_id=fs_id, file_system_path="/scratch", data_repository_path=bucket_path(unique("slow")))

    timed_out = play([dra("first", **options, wait_timeout=1)]).results("first")

    message = failed(timed_out)
    association_id = timed_out["association"]["association_id"]
    assert association_id in message and "it is CREATING" in message
    assert "run the task again" in message and "no second one is created" in message
    assert timed_out["changed"] is True and timed_out["actions"] == ["create"]

    emu.control("DELETE", "requests")
    resumed = ok(play([dra("again", **options, wait_timeout=60)])).results("again")

    assert resumed["association"]["association_id"] == association_id
    assert resumed["association"]["lifecycle"] == "AVAILABLE"
    assert resumed["changed"] is False and resumed["waited_seconds"] > 0
    assert emu.requests()["writes"] == 0
    assert len(associations_on(fsx, fs_id)) == 1


def test_wait_false_returns_the_creating_association(emu, play, fs_id):
    emu.control("POST", "settings", {"dra_create_seconds": 30})
    result = ok(play([dra("nowait", file_system_id=fs_id, file_system_path="/scratch",
                          data_repository_path=bucket_path(unique("nowait")), wait=False)])).results("nowait")
    assert result["association"]["lifecycle"] == "CREATING"
    assert result["waited_seconds"] == 0


# --- absent ---------------------------------------------------------------------------------------------------------

def test_delete_waits_until_gone_and_absent_when_absent_is_no_change(emu, play, fsx, fs_id):
    emu.control("POST", "settings", {"dra_create_seconds": 0, "dra_delete_seconds": 1.5})
    repository = bucket_path(unique("gone"))
    existing = associate(fsx, fs_id, "/scratch", repository)
    emu.control("DELETE", "requests")
    options = dict(file_system_id=fs_id, file_system_path="/scratch", state="absent")

    deleted = ok(play([dra("delete", **options, data_repository_path=repository)], diff=True)).results("delete")

    assert deleted["changed"] is True and deleted["actions"] == ["delete"]
    assert deleted["association"] is None
    assert deleted["waited_seconds"] >= 1
    assert deleted["diff"]["before"]["association_id"] == existing["AssociationId"] and deleted["diff"]["after"] == {}
    assert writes(emu) == ["DeleteDataRepositoryAssociation"]
    assert not associations_on(fsx, fs_id)

    emu.control("DELETE", "requests")
    again = ok(play([dra("again", **options), dra("no-fs", file_system_id="fs-0123456789abcdef0",
                                                  file_system_path="/scratch", state="absent")]))
    assert again.results("again")["changed"] is False and again.results("no-fs")["changed"] is False
    assert emu.requests()["writes"] == 0


def test_absent_refuses_to_delete_an_association_linking_another_s3_path(emu, play, fsx, fs_id, instant):
    associate(fsx, fs_id, "/scratch", bucket_path(unique("mine")))
    emu.control("DELETE", "requests")
    result = play([dra("guard", file_system_id=fs_id, file_system_path="/scratch", state="absent",
                       data_repository_path=bucket_path(unique("theirs")))]).results("guard")
    assert "it was not deleted" in failed(result)
    assert emu.requests()["writes"] == 0


# --- throttling ---------------------------------------------------------------------------------------------------

def test_throttling_of_30_percent_of_the_calls_still_converges(emu, play, fsx, fs_id):
    emu.control("POST", "settings", {"dra_create_seconds": 0.5, "dra_update_seconds": 0.5, "dra_delete_seconds": 0.5})
    emu.control("POST", "faults/throttle", {"service": "*", "fraction": 0.3})
    repositories = [bucket_path(unique(f"t{n}")) for n in range(3)]
    tasks = [dra(f"create {n}", file_system_id=fs_id, file_system_path=f"/t{n}", data_repository_path=repositories[n],
                 tags={"n": str(n)}) for n in range(3)]
    tasks += [dra("update", file_system_id=fs_id, file_system_path="/t0", data_repository_path=repositories[0],
                  auto_export_policy=["NEW"]),
              dra("delete", file_system_id=fs_id, file_system_path="/t1", state="absent"),
              info("list", file_system_id=fs_id)]

    run = ok(play(tasks))
    emu.control("POST", "faults/throttle", {"service": "*", "fraction": 0})

    assert all(run.results(f"create {n}")["association"]["lifecycle"] == "AVAILABLE" for n in range(3))
    assert run.results("update")["actions"] == ["update"]
    assert run.results("delete")["actions"] == ["delete"]
    assert [a["file_system_path"] for a in run.results("list")["associations"]] == ["/t0", "/t2"]
    assert sorted(a["FileSystemPath"] for a in associations_on(fsx, fs_id)) == ["/t0", "/t2"]
    assert not any(run.results(task["name"]).get("failed") for task in tasks)


# --- info ---------------------------------------------------------------------------------------------------------

def test_info_by_file_system_and_by_vlab_and_project_tags_reads_every_page(emu, play, fsx, lustre, instant):
    vlab = unique("vlab")
    file_systems = [lustre() for _fs in range(4)]
    expected = []
    for fs_index, (fs, _name) in enumerate(file_systems):
        for n in range(7):  # 28 associations of the vlab: more than one page of 25
            project = "proj-a" if n % 2 == 0 else "proj-b"
            created = associate(fsx, fs, f"/d{n}", bucket_path(vlab, str(fs_index), str(n)),
                                Tags=[{"Key": "obp:costcenter:vlabid", "Value": vlab},
                                      {"Key": "obp:costcenter:project", "Value": project}])
            expected.append((fs, f"/d{n}", project, created["AssociationId"]))
    first_fs, first_name = file_systems[0]
    emu.control("DELETE", "requests")

    run = ok(play([
        info("vlab", tags={"obp:costcenter:vlabid": vlab}),
        info("project", tags={"obp:costcenter:vlabid": vlab, "obp:costcenter:project": "proj-a"}),
        info("by id", file_system_id=first_fs),
        info("by name and path", file_system_name=first_name, file_system_path="/d3/"),
        info("by ids", association_ids=[expected[0][3], expected[9][3], "dra-0123456789abcdef0"]),
        info("no fs", file_system_id="fs-0123456789abcdef0"),
    ]))

    by_vlab = run.results("vlab")["associations"]
    assert [(a["file_system_id"], a["file_system_path"]) for a in by_vlab] == sorted((e[0], e[1]) for e in expected)
    assert count(emu, "DescribeDataRepositoryAssociations") >= 2 * 2  # two tag queries, each over at least 2 pages
    by_project = run.results("project")["associations"]
    assert sorted(a["association_id"] for a in by_project) == sorted(e[3] for e in expected if e[2] == "proj-a")
    assert len(by_project) == 16
    assert [a["file_system_path"] for a in run.results("by id")["associations"]] == [f"/d{n}" for n in range(7)]
    by_name = run.results("by name and path")["associations"]
    assert [(a["file_system_id"], a["file_system_path"]) for a in by_name] == [(first_fs, "/d3")]
    assert by_name[0]["tags"] == {"obp:costcenter:vlabid": vlab, "obp:costcenter:project": "proj-b"}
    assert by_name[0]["lifecycle"] == "AVAILABLE"
    assert sorted(a["association_id"] for a in run.results("by ids")["associations"]) == sorted([expected[0][3],
                                                                                                 expected[9][3]])
    assert run.results("no fs")["associations"] == []
    assert emu.requests()["writes"] == 0
