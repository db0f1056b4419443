"""module_utils/tags.py: the tag checks every module runs before its first AWS call."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_errors, tags_match


@pytest.mark.parametrize("tags, message", [
    ({"": "v"}, "labels: key '' must have 1 to 128 characters"),
    ({"k" * 129: "v"}, "must have 1 to 128 characters"),
    ({"k": "v" * 257}, "labels: value of 'k' must have at most 256 characters"),
    ({"AWS:owner": "x"}, "labels: key 'AWS:owner' is not allowed: the prefix 'aws:' is reserved by AWS"),
    ({"mine:x": "y"}, "labels: key 'mine:x' is not allowed: the module manages the tags starting with 'mine:'"),
    ({"k": "a\tb"}, "labels: 'k': 'a\\tb' has characters that are not allowed"),
    ({"k": "line\n"}, "has characters that are not allowed"),
])
def test_each_bad_tag_is_named_with_its_field(tags, message):
    errors = tags_errors(tags, field="labels", reserved_prefix="mine:")
    assert len(errors) == 1 and message in errors[0], errors


def test_good_tags_and_none_pass():
    assert tags_errors({"obp:costcenter:vlabid": "v-1", "SBO_Billing": "hpc:parallelcluster", "n": 3, "e": "",
                        "Name": "café 1/2 @home +=.-_"}) == []
    assert tags_errors(None) == []


def test_every_bad_tag_is_reported():
    assert len(tags_errors({"aws:a": "x", "b": "v" * 300, "ok": "fine"})) == 2


@pytest.mark.parametrize("tags", [{"a": "1", "b": "2"}, [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]])
def test_tags_match_dicts_and_boto3_lists(tags):
    assert tags_match(tags, {"a": "1"}) and tags_match(tags, {"a": "1", "b": None})
    assert not tags_match(tags, {"a": "2"}) and not tags_match(tags, {"c": "1"})
    assert tags_match(None, {}) and not tags_match(None, {"a": "1"})
