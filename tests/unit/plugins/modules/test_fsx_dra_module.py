"""Unit tests of the fsx_dra module's decisions: DraRun against an in-memory FSx and a clock that only moves when
the module sleeps. What it writes, in which order, what it waits for, and what it says when it stops."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures


import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.modules import fsx_dra

FS = "fs-0123456789abcdef0"
REPOSITORY = "s3://bucket/project/"


class FakeFsx:
    """The FsxApi interface over a dict of associations. ``then[id]`` lists the lifecycles an association goes
    through, one per poll (None: gone); the clock moves only when the module sleeps."""

    def __init__(self):
        self.now = 0.0
        self.associations_by_id = {}
        self.then = {}
        self.writes = []
        self.file_systems = {FS: {"FileSystemId": FS, "FileSystemType": "LUSTRE"}}
        self._next = 1

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def add(self, path="/project", repository=REPOSITORY, lifecycle="AVAILABLE", then=(), **extra):
        association_id = f"dra-{self._next:017x}"
        self._next += 1
        self.associations_by_id[association_id] = dict({
            "AssociationId": association_id, "FileSystemId": FS, "FileSystemPath": path,
            "DataRepositoryPath": repository, "Lifecycle": lifecycle, "ImportedFileChunkSize": 1024,
            "BatchImportMetaDataOnCreate": False, "ResourceARN": f"arn:aws:fsx:::association/{FS}/{association_id}",
        }, **extra)
        self.then[association_id] = list(then)
        return self.associations_by_id[association_id]

    # the FsxApi interface

    def find_file_system(self, file_system_id=None, name=None):
        return self.file_systems.get(file_system_id or name)

    def associations(self, file_system_id=None):
        return [dict(a) for a in self.associations_by_id.values() if a["FileSystemId"] == file_system_id]

    def association(self, association_id):
        upcoming = self.then.get(association_id)
        if upcoming:
            lifecycle = upcoming.pop(0)
            if lifecycle is None:
                self.associations_by_id.pop(association_id, None)
            else:
                self.associations_by_id[association_id]["Lifecycle"] = lifecycle
        found = self.associations_by_id.get(association_id)
        return dict(found) if found else None

    def create(self, request):
        self.writes.append(("create", request["FileSystemPath"], request["ClientRequestToken"]))
        created = self.add(request["FileSystemPath"], request["DataRepositoryPath"], "CREATING", then=["AVAILABLE"])
        return dict(created)

    def update(self, association_id, members):
        self.writes.append(("update", association_id, members))
        self.associations_by_id[association_id].update(members, Lifecycle="UPDATING")
        self.associations_by_id[association_id].pop("FailureDetails", None)
        self.then[association_id] = ["AVAILABLE"]
        return dict(self.associations_by_id[association_id])

    def delete(self, association_id, delete_data_in_file_system):
        self.writes.append(("delete", association_id, delete_data_in_file_system))
        self.associations_by_id[association_id]["Lifecycle"] = "DELETING"
        self.then[association_id] = ["DELETING", None]

    def retag(self, resource_arn, to_set, to_unset):
        self.writes.append(("retag", resource_arn, to_set, sorted(to_unset)))


class FakeModule:
    def __init__(self, check_mode, diff, params):
        self.check_mode = check_mode
        self._diff = diff
        self.params = params


@pytest.fixture
def fake():
    return FakeFsx()


def options(**overrides):
    base = dict(file_system_id=FS, file_system_name=None, file_system_path="/project", data_repository_path=REPOSITORY,
                repository_conflict="fail", batch_import_meta_data_on_create=None, imported_file_chunk_size=None,
                auto_import_policy=None, auto_export_policy=None, delete_data_in_file_system=False, state="present",
                wait=True, wait_timeout=1800, tags=None, purge_tags=True)
    base.update(overrides)
    return base


def make_run(fake, check_mode=False, diff=False, **overrides):
    params = options(**overrides)
    deadline = Deadline(params["wait_timeout"], clock=fake.clock, sleep=fake.sleep)
    return fsx_dra.DraRun(FakeModule(check_mode, diff, params), fake, deadline)


def run(fake, check_mode=False, diff=False, **overrides):
    run_ = make_run(fake, check_mode, diff, **overrides)
    return run_.present() if run_.params["state"] == "present" else run_.absent()


def refused(fake, **overrides):
    with pytest.raises(dra.DraError) as caught:
        run(fake, **overrides)
    return caught.value


# --- create -------------------------------------------------------------------------------------------------------

def test_creates_with_a_token_and_waits_until_available(fake):
    result = run(fake, auto_import_policy=["NEW"])
    assert result["actions"] == ["create"] and result["changed"] is True
    assert result["association"]["lifecycle"] == "AVAILABLE"
    assert result["waited_seconds"] == 0.2  # the first pause, 0.25 s (rounded to 0.1 s)
    (_create, path, token), = fake.writes
    assert path == "/project" and token.startswith("obi-dra-")


def test_without_wait_returns_the_creating_association(fake):
    result = run(fake, wait=False)
    assert result["association"]["lifecycle"] == "CREATING" and result["waited_seconds"] == 0


def test_check_mode_predicts_the_create_and_writes_nothing(fake):
    result = run(fake, check_mode=True, diff=True, tags={"k": "v"})
    assert result["actions"] == ["create"] and fake.writes == []
    assert result["association"]["tags"] == {"k": "v"} and "association_id" not in result["association"]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["data_repository_path"] == REPOSITORY


def test_nothing_differs_nothing_written(fake):
    fake.add(S3={"AutoImportPolicy": {"Events": ["NEW"]}}, Tags=[{"Key": "k", "Value": "v"}])
    result = run(fake, auto_import_policy=["NEW"], tags={"k": "v"}, file_system_path="/project/")
    assert result["changed"] is False and result["actions"] == [] and fake.writes == []


# --- update, tags, repairs ------------------------------------------------------------------------------------------

def test_updates_differing_settings_in_place_and_waits(fake):
    existing = fake.add()
    result = run(fake, diff=True, imported_file_chunk_size=2048)
    assert fake.writes == [("update", existing["AssociationId"], {"ImportedFileChunkSize": 2048})]
    assert result["actions"] == ["update"] and result["association"]["lifecycle"] == "AVAILABLE"
    assert (result["diff"]["before"]["imported_file_chunk_size"], result["diff"]["after"]["imported_file_chunk_size"]) \
        == (1024, 2048)


def test_check_mode_predicts_the_update(fake):
    fake.add()
    result = run(fake, check_mode=True, auto_export_policy=["NEW"])
    assert result["actions"] == ["update"] and fake.writes == []
    assert result["association"]["auto_export_policy"] == ["NEW"]


def test_tags_are_set_and_purged_only_when_given(fake):
    existing = fake.add(Tags=[{"Key": "old", "Value": "1"}, {"Key": "keep", "Value": "k"}])
    assert run(fake)["actions"] == []  # tags not given: not managed
    result = run(fake, tags={"keep": "k", "new": "2"})
    assert fake.writes == [("retag", existing["ResourceARN"], {"new": "2"}, ["old"])]
    assert result["association"]["tags"] == {"keep": "k", "new": "2"}
    fake.writes.clear()
    assert run(fake, tags={"extra": "3"}, purge_tags=False)["actions"] == ["update_tags"]
    assert fake.writes[0][3] == []


def test_a_creating_association_is_waited_for_before_it_is_updated(fake):
    existing = fake.add(lifecycle="CREATING", then=["CREATING", "AVAILABLE"])
    result = run(fake, imported_file_chunk_size=4096)
    assert fake.writes == [("update", existing["AssociationId"], {"ImportedFileChunkSize": 4096})]
    assert result["waited_seconds"] == round(0.25 + 0.25 + 0.25, 1)  # two polls while CREATING, one while UPDATING


def test_a_creating_association_cannot_be_changed_without_waiting(fake):
    fake.add(lifecycle="CREATING")
    error = refused(fake, wait=False, imported_file_chunk_size=4096)
    assert "is CREATING" in error.message and "wait=true" in error.message and fake.writes == []
    assert run(fake, wait=False)["actions"] == []  # nothing to change: fine


def test_misconfigured_gets_its_configuration_sent_again(fake):
    existing = fake.add(lifecycle="MISCONFIGURED", FailureDetails={"Message": "bad events"},
                        S3={"AutoExportPolicy": {"Events": ["NEW"]}})
    result = run(fake)
    assert result["actions"] == ["reapply_configuration"]
    assert fake.writes == [("update", existing["AssociationId"],
                            {"S3": {"AutoImportPolicy": {"Events": []}, "AutoExportPolicy": {"Events": ["NEW"]}}})]
    assert result["association"]["lifecycle"] == "AVAILABLE"


def test_misconfigured_with_a_difference_is_simply_updated(fake):
    fake.add(lifecycle="MISCONFIGURED")
    assert run(fake, auto_import_policy=["NEW"])["actions"] == ["update"]


def test_failed_is_deleted_and_created_again_with_another_token(fake):
    failed = fake.add(lifecycle="FAILED", FailureDetails={"Message": "Access Denied"})
    plain_token = dra.create_request(FS, options())["ClientRequestToken"]
    result = run(fake)
    assert result["actions"] == ["recreate_failed", "create"]
    assert [write[0] for write in fake.writes] == ["delete", "create"]
    assert fake.writes[0][1] == failed["AssociationId"]
    assert fake.writes[1][2] != plain_token  # the token names the association it replaces
    assert result["association"]["lifecycle"] == "AVAILABLE"
    assert result["association"]["association_id"] != failed["AssociationId"]


def test_a_deleting_association_at_the_path_is_waited_for_then_created_again(fake):
    fake.add(lifecycle="DELETING", then=["DELETING", None])
    result = run(fake)
    assert result["actions"] == ["create"] and [write[0] for write in fake.writes] == ["create"]
    assert result["waited_seconds"] == round(0.25 + 0.25 + 0.25, 1)


def test_batch_import_on_an_existing_association_is_a_warning(fake):
    fake.add()
    run_ = make_run(fake, batch_import_meta_data_on_create=True)
    assert run_.present()["actions"] == []
    assert "at creation only" in run_.warnings[0]


# --- conflicts ----------------------------------------------------------------------------------------------------

def test_another_s3_path_fails_by_default_and_is_replaced_when_asked(fake):
    existing = fake.add(repository="s3://bucket/old/")
    error = refused(fake)
    assert "repository_conflict=replace" in error.message and fake.writes == []
    result = run(fake, repository_conflict="replace", delete_data_in_file_system=True)
    assert result["actions"] == ["replace", "create"]
    assert fake.writes[0] == ("delete", existing["AssociationId"], True)
    assert result["association"]["data_repository_path"] == REPOSITORY


def test_a_replacement_that_cannot_succeed_deletes_nothing(fake):
    fake.add(repository="s3://bucket/old/")
    fake.add(path="/scratch", repository=REPOSITORY)  # the new S3 path is linked elsewhere already
    error = refused(fake, repository_conflict="replace")
    assert error.message.startswith("Cannot create the data repository association: data_repository_path:")
    assert fake.writes == []


def test_nesting_and_limit_are_refused_before_any_write(fake):
    fake.add(path="/project/sub", repository="s3://bucket/sub/")
    assert "contains /project/sub" in refused(fake).message
    fake2 = FakeFsx()
    for n in range(8):
        fake2.add(path=f"/d{n}", repository=f"s3://bucket/d{n}/")
    assert "already has 8 data repository associations" in refused(fake2).message
    assert fake.writes == [] and fake2.writes == []


def test_a_file_system_that_is_not_lustre_or_does_not_exist(fake):
    assert refused(fake, file_system_id="fs-00000000000000000").message.startswith("file_system_id: no FSx file system")
    fake.file_systems[FS]["FileSystemType"] = "OPENZFS"
    assert "need FSx for Lustre" in refused(fake).message


# --- waiting failures -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lifecycle", ["FAILED", "MISCONFIGURED"])
def test_a_wait_ending_in_failure_fails_with_aws_message(fake, lifecycle, monkeypatch):
    original = fake.create

    def create_failing(request):
        created = original(request)
        fake.then[created["AssociationId"]] = [lifecycle]
        fake.associations_by_id[created["AssociationId"]]["FailureDetails"] = {"Message": "Access Denied on bucket"}
        return created

    monkeypatch.setattr(fake, "create", create_failing)
    run_ = make_run(fake)
    with pytest.raises(fsx_dra.WaitFailed) as caught:
        run_.present()
    assert f"is {lifecycle}: Access Denied on bucket" in caught.value.message
    assert caught.value.association["Lifecycle"] == lifecycle
    assert run_.outcome()["changed"] is True and run_.outcome()["actions"] == ["create"]


def test_a_timeout_names_the_association_its_lifecycle_and_how_to_resume(fake):
    existing = fake.add(lifecycle="CREATING", then=["CREATING"] * 100)
    run_ = make_run(fake, wait_timeout=10, imported_file_chunk_size=2048)
    with pytest.raises(fsx_dra.WaitFailed) as caught:
        run_.present()
    message = caught.value.message
    assert existing["AssociationId"] in message and "it is CREATING" in message
    assert "Timed out after 10 s (wait_timeout=10)" in message
    assert "run the task again" in message and "no second one is created" in message
    assert fake.writes == [] and run_.outcome()["waited_seconds"] == 10


def test_an_association_deleted_by_someone_else_while_waiting(fake):
    fake.add(lifecycle="CREATING", then=[None])
    assert "was deleted by someone else" in refused(fake).message


# --- absent -------------------------------------------------------------------------------------------------------

def test_absent_deletes_and_waits_until_gone(fake):
    existing = fake.add()
    result = run(fake, state="absent", diff=True)
    assert result["actions"] == ["delete"] and result["association"] is None
    assert fake.writes == [("delete", existing["AssociationId"], False)]
    assert result["waited_seconds"] == 0.5  # 0.25 + 0.25 (the first second is polled every 0.25 s)
    assert result["diff"] == {"before": dra.diff_view(existing), "after": {}}


def test_absent_without_wait_returns_the_deleting_association(fake):
    fake.add()
    result = run(fake, state="absent", wait=False)
    assert result["association"]["lifecycle"] == "DELETING"


def test_absent_when_absent_or_already_deleting_or_no_file_system_is_no_change(fake):
    assert run(fake, state="absent")["changed"] is False
    assert run(fake, state="absent", file_system_id="fs-00000000000000000")["changed"] is False
    fake.add(lifecycle="DELETING", then=[None])
    result = run(fake, state="absent")
    assert result["changed"] is False and fake.writes == []


def test_absent_in_check_mode_writes_nothing(fake):
    fake.add()
    result = run(fake, state="absent", check_mode=True)
    assert result["actions"] == ["delete"] and fake.writes == [] and result["association"] is None


def test_absent_with_another_s3_path_deletes_nothing(fake):
    fake.add(repository="s3://bucket/other/")
    assert "it was not deleted" in refused(fake, state="absent").message
    assert run(fake, state="absent", data_repository_path=None)["actions"] == ["delete"]
