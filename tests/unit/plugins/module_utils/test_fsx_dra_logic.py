"""Unit tests of module_utils/fsx_dra.py: input checks, placement, token, update members, results (no AWS)."""
# pylint: disable=missing-function-docstring  # test names say what they check

import datetime
import re

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra

FS = "fs-0123456789abcdef0"


def association(path="/project", repository="s3://bucket/project/", lifecycle="AVAILABLE", number=1, **extra):
    return dict({"AssociationId": f"dra-{number:017x}", "FileSystemId": FS, "FileSystemPath": path,
                 "DataRepositoryPath": repository, "Lifecycle": lifecycle, "ImportedFileChunkSize": 1024,
                 "BatchImportMetaDataOnCreate": False,
                 "ResourceARN": f"arn:aws:fsx:us-east-1:123456789012:association/{FS}/dra-{number:017x}"}, **extra)


def params(**overrides):
    base = dict(file_system_id=FS, file_system_name=None, file_system_path="/project",
                data_repository_path="s3://bucket/project/", repository_conflict="fail",
                batch_import_meta_data_on_create=None, imported_file_chunk_size=None, auto_import_policy=None,
                auto_export_policy=None, delete_data_in_file_system=False, state="present", wait=True,
                wait_timeout=1800, tags=None, purge_tags=True)
    base.update(overrides)
    return base


# --- input checks -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/project", "/project/", "/project/public", "/a-b/c_d.e/"])
def test_valid_file_system_paths(path):
    assert dra.file_system_path_error(path) is None


@pytest.mark.parametrize("path,expected", [
    ("", "must not be empty"),
    ("project", "is not absolute"),
    ("/a/../b", "must not contain '.' or '..'"),
    ("/a/./b", "must not contain '.' or '..'"),
    ("/..", "must not contain '.' or '..'"),
    ("/a//b", "empty path segment"),
    ("/a\nb", "control characters"),
    ("/" + "a" * 4096, "at most 4096"),
])
def test_invalid_file_system_paths_name_the_field(path, expected):
    error = dra.file_system_path_error(path)
    assert error.startswith("file_system_path: ") and expected in error


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "s3://my.bucket-1/prefix/sub/", "s3://abc/p"])
def test_valid_data_repository_paths(uri):
    assert dra.data_repository_path_error(uri) is None


@pytest.mark.parametrize("uri,expected", [
    (None, "is not an S3 URI"),
    ("bucket/prefix", "is not an S3 URI"),
    ("https://bucket/prefix", "is not an S3 URI"),
    ("s3://", "not a valid S3 bucket name"),
    ("s3://ab", "not a valid S3 bucket name"),
    ("s3://Bucket", "not a valid S3 bucket name"),
    ("s3://bucket_1", "not a valid S3 bucket name"),
    ("s3://-bucket", "not a valid S3 bucket name"),
    ("s3://my..bucket", "not a valid S3 bucket name"),
    ("s3://192.168.1.1/p", "not a valid S3 bucket name"),
    ("s3://bucket/a/../b", "must not contain '.' or '..'"),
])
def test_invalid_data_repository_paths_name_the_field(uri, expected):
    error = dra.data_repository_path_error(uri)
    assert error.startswith("data_repository_path: ") and expected in error


def test_params_errors_collect_every_problem_and_name_each_field():
    errors = dra.params_errors(params(file_system_id="fs-x", file_system_path="rel", data_repository_path="s3://B",
                                      imported_file_chunk_size=512001, wait_timeout=0,
                                      auto_import_policy=["NEW", "NEW"], tags={"aws:x": "1", "k": "v" * 257}))
    assert [error.split(":")[0] for error in errors] == ["file_system_id", "file_system_path", "imported_file_chunk_size",
                                                         "data_repository_path", "wait_timeout", "auto_import_policy",
                                                         "tags", "tags"]


def test_absent_needs_no_data_repository_path_but_checks_one_given():
    assert dra.params_errors(params(state="absent", data_repository_path=None)) == []
    assert dra.params_errors(params(state="absent", data_repository_path="nope"))[0].startswith("data_repository_path")


def test_info_params_errors():
    assert dra.info_params_errors(dict(file_system_id=None, file_system_path=None, association_ids=None, tags=None)) == []
    errors = dra.info_params_errors(dict(file_system_id="fs-1", file_system_path="x", association_ids=["dra-1", "dra-0123456789abcdef0", "x"],
                                         tags={"aws:a": "b"}))
    assert [error.split(":")[0] for error in errors] == ["file_system_id", "file_system_path", "association_ids",
                                                         "association_ids", "tags"]


# --- paths and placement ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,other,relation", [
    ("/a", "/a/", "is the same directory as"),
    ("/a/b", "/a", "is inside"),
    ("/a", "/a/b/", "contains"),
    ("/", "/a", "contains"),
    ("/ab", "/a", None),
    ("/a", "/b", None),
])
def test_nesting(path, other, relation):
    assert dra.nesting(path, other) == relation


def test_find_at_path_ignores_trailing_slashes():
    existing = association("/project/")
    assert dra.find_at_path([association("/other", number=2), existing], "/project") is existing
    assert dra.find_at_path([existing], "/projects") is None


def test_placement_names_nesting_shared_s3_path_and_the_limit():
    others = [association("/data", "s3://bucket/data/", number=1), association("/x", "s3://bucket/new/", number=2)]
    errors = dra.placement_errors(FS, others, "/data/sub", "s3://bucket/new")
    assert errors == [
        f"file_system_path: /data/sub is inside /data, the path of association dra-{1:017x} (/data -> s3://bucket/data/, "
        f"AVAILABLE) on {FS}; the paths of a file system's associations cannot nest",
        f"data_repository_path: s3://bucket/new is already linked by association dra-{2:017x} (/x -> s3://bucket/new/, "
        f"AVAILABLE) on {FS}; each association needs its own S3 prefix"]


def test_placement_counts_up_to_eight_and_leaves_out_the_one_replaced():
    eight = [association(f"/d{n}", f"s3://bucket/d{n}", number=n) for n in range(8)]
    assert dra.placement_errors(FS, eight[:7], "/new", "s3://bucket/new") == []
    errors = dra.placement_errors(FS, eight, "/new", "s3://bucket/new")
    assert errors == [f"file_system_id: {FS} already has 8 data repository associations (/d0, /d1, /d2, /d3, /d4, /d5, "
                      "/d6, /d7), the most AWS allows per file system (8): delete one first"]
    assert dra.placement_errors(FS, eight, "/d3", "s3://bucket/other", replacing=eight[3]) == []
    with pytest.raises(dra.DraError) as caught:
        dra.check_placement(FS, eight, "/new", "s3://bucket/new")
    assert caught.value.errors == errors


def test_replacement_decisions():
    assert dra.replacement(None, params()) is None
    assert dra.replacement(association(repository="s3://bucket/project"), params()) is None  # trailing slash aside
    assert dra.replacement(association(lifecycle="FAILED"), params()) == dra.RECREATE_FAILED
    assert dra.replacement(association(lifecycle="MISCONFIGURED"), params()) is None
    other = association(repository="s3://bucket/elsewhere/")
    assert dra.replacement(other, params(repository_conflict="replace")) == dra.REPLACE
    with pytest.raises(dra.DraError) as caught:
        dra.replacement(other, params())
    assert caught.value.message.startswith("data_repository_path: association dra-")
    assert "repository_conflict=replace" in caught.value.message
    assert caught.value.association is other


# --- requests -----------------------------------------------------------------------------------------------------

def test_token_is_deterministic_short_enough_and_changes_with_the_request():
    request = dra.create_request(FS, params(tags={"b": "2", "a": "1"}))
    token = request["ClientRequestToken"]
    assert token == dra.create_request(FS, params(tags={"a": "1", "b": "2"}))["ClientRequestToken"]
    assert len(token) <= 63 and re.fullmatch(r"obi-dra-[0-9a-f]{40}", token)
    assert token != dra.create_request(FS, params(file_system_path="/other"))["ClientRequestToken"]
    assert token != dra.create_request(FS, params(tags={"a": "1", "b": "2"}), replaces="dra-1")["ClientRequestToken"]


def test_create_request_sends_only_what_is_set():
    assert {k: v for k, v in dra.create_request(FS, params()).items() if k != "ClientRequestToken"} == {
        "FileSystemId": FS, "FileSystemPath": "/project", "DataRepositoryPath": "s3://bucket/project/",
        "BatchImportMetaDataOnCreate": False}
    request = dra.create_request(FS, params(imported_file_chunk_size=2048, auto_import_policy=["DELETED", "NEW"],
                                            auto_export_policy=[], batch_import_meta_data_on_create=True,
                                            tags={"k": 1}))
    assert request["S3"] == {"AutoImportPolicy": {"Events": ["NEW", "DELETED"]}}
    assert request["ImportedFileChunkSize"] == 2048 and request["BatchImportMetaDataOnCreate"] is True
    assert request["Tags"] == [{"Key": "k", "Value": "1"}]


def test_update_members_only_what_differs_and_both_policies_together():
    current = association(S3={"AutoImportPolicy": {"Events": ["NEW", "CHANGED"]}})
    assert dra.update_members(current, params()) == {}
    assert dra.update_members(current, params(auto_import_policy=["CHANGED", "NEW"], imported_file_chunk_size=1024)) == {}
    assert dra.update_members(current, params(imported_file_chunk_size=4096)) == {"ImportedFileChunkSize": 4096}
    assert dra.update_members(current, params(auto_export_policy=["NEW"])) == {
        "S3": {"AutoImportPolicy": {"Events": ["NEW", "CHANGED"]}, "AutoExportPolicy": {"Events": ["NEW"]}}}
    assert dra.update_members(current, params(auto_import_policy=[])) == {
        "S3": {"AutoImportPolicy": {"Events": []}, "AutoExportPolicy": {"Events": []}}}


def test_reapply_sends_the_s3_configuration_as_wanted():
    current = association(lifecycle="MISCONFIGURED", S3={"AutoExportPolicy": {"Events": ["NEW"]}})
    assert dra.reapply_members(current, params()) == {
        "S3": {"AutoImportPolicy": {"Events": []}, "AutoExportPolicy": {"Events": ["NEW"]}}}


def test_batch_import_warning_only_when_asked_for_another_value():
    current = association(BatchImportMetaDataOnCreate=True)
    assert dra.batch_import_warning(current, params()) is None
    assert dra.batch_import_warning(current, params(batch_import_meta_data_on_create=True)) is None
    assert "at creation only" in dra.batch_import_warning(current, params(batch_import_meta_data_on_create=False))


# --- results ------------------------------------------------------------------------------------------------------

def test_association_result_is_snake_case_with_tags_and_policy_lists():
    created = datetime.datetime(2025, 1, 1, 10, tzinfo=datetime.timezone.utc)
    result = dra.association_result(association(
        lifecycle="FAILED", FailureDetails={"Message": "Access Denied"}, CreationTime=created,
        S3={"AutoImportPolicy": {"Events": ["NEW"]}}, Tags=[{"Key": "obp:costcenter:vlabid", "Value": "v1"}]))
    assert result["association_id"] == f"dra-{1:017x}"
    assert result["resource_arn"].startswith("arn:aws:fsx:")
    assert result["failure_details"] == {"message": "Access Denied"}
    assert result["creation_time"] == "2025-01-01T10:00:00+00:00"
    assert result["s3"] == {"auto_import_policy": {"events": ["NEW"]}}
    assert (result["auto_import_policy"], result["auto_export_policy"]) == (["NEW"], [])
    assert result["tags"] == {"obp:costcenter:vlabid": "v1"}
    assert dra.association_result(None) is None


def test_diff_view_and_matches():
    tagged = association(Tags=[{"Key": "v", "Value": "1"}, {"Key": "p", "Value": "2"}])
    assert dra.diff_view(None) == {}
    assert dra.diff_view(tagged)["tags"] == {"v": "1", "p": "2"}
    assert "lifecycle" not in dra.diff_view(tagged)
    assert dra.matches(tagged, "/project/", {"v": "1"})
    assert dra.matches(tagged, None, {"v": 1, "p": "2"})
    assert not dra.matches(tagged, "/other", None)
    assert not dra.matches(tagged, None, {"v": "2"})


def test_failure_message_falls_back_when_aws_gives_none():
    assert dra.failure_message(association(FailureDetails={"Message": "why"})) == "why"
    assert "no FailureDetails" in dra.failure_message(association())
