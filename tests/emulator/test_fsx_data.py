"""The FSx for Lustre data plane over HTTP (emulator/fills/fsx_data.py): S3 auto import through data repository
associations, export and import tasks, on an emulator started with --fsx-data-dir.

Stock moto keeps no file system content and has no data repository tasks (HTTP 500), so each test fails there.
Prefixes are laid out as the collection's: s3://<bucket>/<vlab_uuid>/<project_uuid> linked to /scratch.
"""

import os
import stat
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Emulator, running_emulator  # pylint: disable=import-error

ALL_EVENTS = ["NEW", "CHANGED", "DELETED"]
NO_REPORT = {"Enabled": False}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fsx-data")


@pytest.fixture(scope="module")
def plane_emulator(data_dir):
    """An emulator of its own, keeping file system content in data_dir; associations are AVAILABLE at once."""
    with running_emulator("--fsx-data-dir", str(data_dir)) as endpoint:
        emulator = Emulator(endpoint)
        emulator.control("POST", "settings", {"dra_create_seconds": 0, "dra_update_seconds": 0})
        yield emulator


@pytest.fixture
def plane(plane_emulator):
    """The data plane emulator; a request it answered with HTTP 500 during the test fails the test."""
    yield plane_emulator
    failed = plane_emulator.requests()["internal_errors"]
    plane_emulator.control("DELETE", "requests")
    assert not failed, f"the emulator failed these requests with HTTP 500: {failed}"


@pytest.fixture(scope="module")
def subnet_id(plane_emulator):
    ec2 = plane_emulator.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.78.1.0/24")["Subnet"]["SubnetId"]


@pytest.fixture
def s3(plane):
    return plane.client("s3")


@pytest.fixture
def fsx(plane):
    return plane.client("fsx")


def create_lustre(fsx, subnet_id):
    return fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet_id],
                                  LustreConfiguration={"DeploymentType": "PERSISTENT_2",
                                                       "PerUnitStorageThroughput": 250})["FileSystem"]["FileSystemId"]


class Cluster:
    """A file system with /scratch linked to s3://<bucket>/<vlab>/<project>, and its directory in data_dir."""

    def __init__(self, fsx, s3, subnet_id, data_dir, events=None):
        self.fsx, self.s3 = fsx, s3
        self.vlab, self.project = str(uuid.uuid4()), str(uuid.uuid4())
        self.bucket = f"scratch-{uuid.uuid4().hex[:12]}"
        self.prefix = f"{self.vlab}/{self.project}"
        s3.create_bucket(Bucket=self.bucket)
        self.fs_id = create_lustre(fsx, subnet_id)
        self.root = data_dir / self.fs_id
        s3_config = {"AutoImportPolicy": {"Events": events}} if events is not None else {}
        self.association_id = fsx.create_data_repository_association(
            FileSystemId=self.fs_id, FileSystemPath="/scratch",
            DataRepositoryPath=f"s3://{self.bucket}/{self.prefix}", **({"S3": s3_config} if s3_config else {}),
        )["Association"]["AssociationId"]

    def put(self, relative, body, prefix=None):
        self.s3.put_object(Bucket=self.bucket, Key=f"{prefix or self.prefix}/{relative}", Body=body)

    def local(self, relative):
        return self.root / "scratch" / relative

    def export(self, *paths, **kwargs):
        return self.fsx.create_data_repository_task(Type="EXPORT_TO_REPOSITORY", FileSystemId=self.fs_id,
                                                    Paths=list(paths), Report=NO_REPORT, **kwargs)["DataRepositoryTask"]

    def task(self, task_id):
        return self.fsx.describe_data_repository_tasks(TaskIds=[task_id])["DataRepositoryTasks"][0]

    def get(self, relative):
        return self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{relative}")["Body"].read()


@pytest.fixture
def cluster(fsx, s3, subnet_id, data_dir):
    """A cluster whose association imports every event."""
    return Cluster(fsx, s3, subnet_id, data_dir, ALL_EVENTS)


@pytest.fixture
def make_cluster(fsx, s3, subnet_id, data_dir):
    return lambda events=None: Cluster(fsx, s3, subnet_id, data_dir, events)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def files_under(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_a_lustre_file_system_has_its_directory_at_once(fsx, subnet_id, data_dir):
    fs_id = create_lustre(fsx, subnet_id)
    assert (data_dir / fs_id).is_dir()
    assert stat.S_IMODE((data_dir / fs_id).stat().st_mode) == 0o755


def test_a_put_under_an_association_is_imported_with_its_directories(cluster):
    cluster.put("runs/1/input.dat", b"\x00\x01payload")
    target = cluster.local("runs/1/input.dat")
    assert target.read_bytes() == b"\x00\x01payload"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    for directory in (cluster.local("runs/1"), cluster.local("runs"), cluster.root / "scratch"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755
    assert not list((cluster.root.parent / ".fsx-staging").iterdir()), "no staging file is left behind"


def test_posix_metadata_of_the_object_sets_owner_group_and_mode(cluster):
    cluster.s3.put_object(Bucket=cluster.bucket, Key=f"{cluster.prefix}/owned.dat", Body=b"x",
                          Metadata={"file-owner": "2000", "file-group": "2001", "file-permissions": "0100660"})
    info = cluster.local("owned.dat").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (2000, 2001, 0o660)
    cluster.s3.put_object(Bucket=cluster.bucket, Key=f"{cluster.prefix}/odd.dat", Body=b"x",
                          Metadata={"file-owner": "sim", "file-permissions": "rw"})  # not numbers: the defaults
    assert stat.S_IMODE(cluster.local("odd.dat").stat().st_mode) == 0o644
    cluster.s3.put_object(Bucket=cluster.bucket, Key=f"{cluster.prefix}/shared/", Body=b"",
                          Metadata={"file-owner": "2000", "file-group": "2001", "file-permissions": "042770"})
    info = cluster.local("shared").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (2000, 2001, 0o2770)


def test_a_directory_object_is_a_directory(cluster):
    cluster.put("empty/", b"")
    assert cluster.local("empty").is_dir()


def test_multipart_uploads_and_copies_are_imported(cluster):
    s3 = cluster.s3
    key = f"{cluster.prefix}/big.bin"
    upload = s3.create_multipart_upload(Bucket=cluster.bucket, Key=key)["UploadId"]
    parts = [b"a" * (5 * 1024 * 1024), b"tail"]
    etags = [s3.upload_part(Bucket=cluster.bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
             for number, body in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket=cluster.bucket, Key=key, UploadId=upload, MultipartUpload={
        "Parts": [{"ETag": etag, "PartNumber": number} for number, etag in enumerate(etags, 1)]})
    assert cluster.local("big.bin").read_bytes() == b"".join(parts)
    s3.copy_object(Bucket=cluster.bucket, Key=f"{cluster.prefix}/copy/big.bin",
                   CopySource={"Bucket": cluster.bucket, "Key": key})
    assert cluster.local("copy/big.bin").read_bytes() == b"".join(parts)


def test_a_put_outside_every_association_imports_nothing(cluster):
    other_bucket = f"other-{uuid.uuid4().hex[:12]}"
    cluster.s3.create_bucket(Bucket=other_bucket)
    cluster.put("x.txt", b"other project", prefix=f"{cluster.vlab}/{uuid.uuid4()}")
    cluster.put("x.txt", b"sibling prefix", prefix=f"{cluster.prefix}-2")
    cluster.put("x.txt", b"above the prefix", prefix=cluster.vlab)
    cluster.s3.put_object(Bucket=other_bucket, Key=f"{cluster.prefix}/x.txt", Body=b"other bucket")
    assert files_under(cluster.root) == ["scratch"]


def test_an_overwrite_is_imported_when_the_policy_has_changed(cluster, make_cluster):
    cluster.put("data.txt", b"first")
    cluster.put("data.txt", b"second, longer")
    assert cluster.local("data.txt").read_bytes() == b"second, longer"
    new_only = make_cluster(["NEW"])
    new_only.put("data.txt", b"first")
    new_only.put("data.txt", b"second")
    assert new_only.local("data.txt").read_bytes() == b"first"


def test_a_delete_removes_the_file_when_the_policy_has_deleted(cluster, make_cluster):
    cluster.put("dir/gone.txt", b"x")
    cluster.s3.delete_object(Bucket=cluster.bucket, Key=f"{cluster.prefix}/dir/gone.txt")
    assert not cluster.local("dir/gone.txt").exists()
    cluster.put("a.txt", b"a")
    cluster.put("b.txt", b"b")
    cluster.s3.delete_objects(Bucket=cluster.bucket, Delete={"Objects": [
        {"Key": f"{cluster.prefix}/a.txt"}, {"Key": f"{cluster.prefix}/b.txt"}]})
    assert not cluster.local("a.txt").exists() and not cluster.local("b.txt").exists()
    kept = make_cluster(["NEW", "CHANGED"])
    kept.put("kept.txt", b"k")
    kept.s3.delete_object(Bucket=kept.bucket, Key=f"{kept.prefix}/kept.txt")
    assert kept.local("kept.txt").read_bytes() == b"k"


def test_an_association_without_auto_import_imports_nothing(make_cluster):
    cluster = make_cluster()
    cluster.put("file.txt", b"x")
    assert not cluster.local("file.txt").exists()


def test_a_link_in_the_file_system_never_leads_an_import_outside(cluster, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    cluster.local("").mkdir(exist_ok=True)
    os.symlink(outside, cluster.local("escape"))
    cluster.put("escape/file.txt", b"x")
    assert not list(outside.iterdir())


def test_an_export_task_puts_a_file_and_a_directory_into_s3(cluster):
    write(cluster.local("results/summary.csv"), b"a,b\n1,2\n")
    write(cluster.local("out/deep/one.bin"), b"\x00" * 100)
    write(cluster.local("out/two.txt"), b"two")
    created = cluster.export("scratch/results/summary.csv", "/scratch/out")
    assert created["Lifecycle"] == "PENDING" and created["Type"] == "EXPORT_TO_REPOSITORY"
    assert created["Report"] == NO_REPORT
    task = cluster.task(created["TaskId"])
    assert task["Lifecycle"] == "SUCCEEDED", task
    assert {k: v for k, v in task["Status"].items() if k != "LastUpdatedTime"} == {
        "TotalCount": 3, "SucceededCount": 3, "FailedCount": 0}
    assert task["Status"]["LastUpdatedTime"] and task["EndTime"] >= task["CreationTime"]
    assert task["Paths"] == ["scratch/results/summary.csv", "/scratch/out"]
    assert task["ResourceARN"].endswith(f":task/{cluster.fs_id}/{created['TaskId']}")
    assert cluster.get("results/summary.csv") == b"a,b\n1,2\n"
    assert cluster.get("out/deep/one.bin") == b"\x00" * 100
    assert cluster.get("out/two.txt") == b"two"


def test_an_export_of_the_root_exports_what_associations_cover(cluster):
    write(cluster.local("everything.txt"), b"e")
    task = cluster.task(cluster.export()["TaskId"])
    assert task["Lifecycle"] == "SUCCEEDED" and task["Status"]["SucceededCount"] == 1
    assert cluster.get("everything.txt") == b"e"


def test_an_export_outside_every_association_fails(cluster):
    write(cluster.root / "elsewhere" / "file.txt", b"x")
    task = cluster.task(cluster.export("elsewhere/file.txt")["TaskId"])
    assert task["Lifecycle"] == "FAILED"
    assert task["Status"]["TotalCount"] == 1 and task["Status"]["FailedCount"] == 1
    assert task["Status"]["SucceededCount"] == 0
    assert "/elsewhere/file.txt is not in a data repository association" in task["FailureDetails"]["Message"]


def test_an_export_of_a_missing_path_fails(cluster):
    task = cluster.task(cluster.export("scratch/missing")["TaskId"])
    assert task["Lifecycle"] == "FAILED"
    assert task["Status"]["TotalCount"] == 0
    assert "'scratch/missing' does not exist" in task["FailureDetails"]["Message"]


@pytest.mark.parametrize("path", ["../etc", "scratch/../../x", "s3://bucket/key"])
def test_an_export_path_that_is_not_relative_is_refused(cluster, path):
    with pytest.raises(ClientError) as caught:
        cluster.export(path)
    assert caught.value.response["Error"]["Code"] == "BadRequest"


def test_an_import_task_writes_objects_the_association_did_not_auto_import(make_cluster):
    cluster = make_cluster()
    cluster.put("in/a.txt", b"a")
    cluster.put("in/b/c.txt", b"c")
    cluster.put("other/d.txt", b"d")
    created = cluster.fsx.create_data_repository_task(
        Type="IMPORT_METADATA_FROM_REPOSITORY", FileSystemId=cluster.fs_id, Report=NO_REPORT,
        Paths=[f"s3://{cluster.bucket}/{cluster.prefix}/in"])["DataRepositoryTask"]
    task = cluster.task(created["TaskId"])
    assert task["Lifecycle"] == "SUCCEEDED" and task["Status"]["SucceededCount"] == 2
    assert cluster.local("in/b/c.txt").read_bytes() == b"c"
    assert not cluster.local("other/d.txt").exists()


def test_describe_filters_by_file_system_lifecycle_and_association(cluster, make_cluster):
    write(cluster.local("ok.txt"), b"ok")
    write(cluster.root / "loose.txt", b"loose")
    succeeded = cluster.export("scratch/ok.txt")["TaskId"]
    failed = cluster.export("loose.txt")["TaskId"]
    other = make_cluster()
    other_task = other.export()["TaskId"]
    fsx = cluster.fsx

    def ids(**kwargs):
        return [t["TaskId"] for t in fsx.describe_data_repository_tasks(**kwargs)["DataRepositoryTasks"]]

    assert ids(Filters=[{"Name": "file-system-id", "Values": [cluster.fs_id]}]) == [succeeded, failed]
    assert ids(Filters=[{"Name": "file-system-id", "Values": [cluster.fs_id]},
                        {"Name": "task-lifecycle", "Values": ["FAILED"]}]) == [failed]
    assert ids(Filters=[{"Name": "data-repository-association-id", "Values": [cluster.association_id]}]) == [succeeded]
    assert ids(TaskIds=[other_task, succeeded]) == [other_task, succeeded]
    first = fsx.describe_data_repository_tasks(Filters=[{"Name": "file-system-id", "Values": [cluster.fs_id]}],
                                               MaxResults=1)
    assert [t["TaskId"] for t in first["DataRepositoryTasks"]] == [succeeded]
    assert ids(Filters=[{"Name": "file-system-id", "Values": [cluster.fs_id]}], MaxResults=1,
               NextToken=first["NextToken"]) == [failed]
    for call, code in ((dict(TaskIds=["task-0123456789abcdef0"]), "DataRepositoryTaskNotFound"),
                       (dict(Filters=[{"Name": "colour", "Values": ["x"]}]), "BadRequest")):
        with pytest.raises(ClientError) as caught:
            fsx.describe_data_repository_tasks(**call)
        assert caught.value.response["Error"]["Code"] == code


def test_an_ended_task_cannot_be_canceled(cluster):
    task_id = cluster.export()["TaskId"]
    with pytest.raises(ClientError) as caught:
        cluster.fsx.cancel_data_repository_task(TaskId=task_id)
    assert caught.value.response["Error"]["Code"] == "DataRepositoryTaskEnded"


def test_a_retry_with_the_same_token_is_the_same_task(cluster):
    first = cluster.export("scratch", ClientRequestToken="export-once")
    assert cluster.export("scratch", ClientRequestToken="export-once")["TaskId"] == first["TaskId"]
    with pytest.raises(ClientError) as caught:
        cluster.export("scratch/other", ClientRequestToken="export-once")
    assert caught.value.response["Error"]["Code"] == "IncompatibleParameterError"


def test_an_unknown_file_system_is_refused(fsx):
    with pytest.raises(ClientError) as caught:
        fsx.create_data_repository_task(Type="EXPORT_TO_REPOSITORY", FileSystemId="fs-0123456789abcdef0",
                                        Report=NO_REPORT)
    assert caught.value.response["Error"]["Code"] == "FileSystemNotFound"


def test_without_a_data_directory_tasks_succeed_having_moved_nothing(emu):
    """The session emulator runs without --fsx-data-dir: a task succeeds with counts 0, a put imports nothing."""
    fsx, ec2, s3 = emu.client("fsx"), emu.client("ec2"), emu.client("s3")
    vpc_id = ec2.create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    fs_id = create_lustre(fsx, ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.79.1.0/24")["Subnet"]["SubnetId"])
    bucket = f"nodata-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    emu.control("POST", "settings", {"dra_create_seconds": 0})
    fsx.create_data_repository_association(FileSystemId=fs_id, FileSystemPath="/scratch",
                                           DataRepositoryPath=f"s3://{bucket}/p",
                                           S3={"AutoImportPolicy": {"Events": ALL_EVENTS}})
    s3.put_object(Bucket=bucket, Key="p/file.txt", Body=b"x")
    task_id = fsx.create_data_repository_task(Type="EXPORT_TO_REPOSITORY", FileSystemId=fs_id, Paths=["scratch"],
                                              Report=NO_REPORT)["DataRepositoryTask"]["TaskId"]
    task = fsx.describe_data_repository_tasks(TaskIds=[task_id])["DataRepositoryTasks"][0]
    assert task["Lifecycle"] == "SUCCEEDED"
    assert {k: v for k, v in task["Status"].items() if k != "LastUpdatedTime"} == {
        "TotalCount": 0, "SucceededCount": 0, "FailedCount": 0}
