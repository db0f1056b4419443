"""Unit tests of reference_info: main() against moto in-process (mock_aws), with every AWS call recorded."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from ansible.module_utils.testing import patch_module_args
from ansible_collections.obi.hpc_provisioner.plugins.modules import reference_info

REGION = "us-east-1"
CONNECTION = {"region": REGION, "access_key": "testing", "secret_key": "testing"}
ZONE_TAG = {"tag:landing-zone": "hpc"}


@pytest.fixture
def calls(monkeypatch):
    """The module's AWS calls, as (service, operation), inside moto."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        made = []
        original = BaseClient._make_api_call

        def recording(client, operation, params):
            made.append((client.meta.service_model.service_name, operation))
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)
        yield made


def run(capsys, **args):
    with patch_module_args(dict(CONNECTION, **args)), pytest.raises(SystemExit):
        reference_info.main()
    return json.loads(capsys.readouterr().out)


def tag_spec(kind, tags):
    return [{"ResourceType": kind, "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}]


def test_reads_the_landing_zone_and_the_clusters_in_one_run(calls, capsys):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    groups = [ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc,
                                        TagSpecifications=tag_spec("security-group", tags))["GroupId"]
              for name, tags in (("hpc", {"landing-zone": "hpc"}), ("hpc-efa", {"landing-zone": "hpc"}),
                                 ("other", {"landing-zone": "web"}))]
    source = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=source, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="pcluster-ami",
                             TagSpecifications=tag_spec("image", {"parallelcluster:build_status": "available"}))["ImageId"]

    calls.clear()  # the set-up's calls
    result = run(capsys, security_group_filters=ZONE_TAG, image_filters={"tag:parallelcluster:build_status": "available"},
                 clusters=["pcluster-none"])
    assert sorted(g["group_id"] for g in result["security_groups"]) == sorted(groups[:2])
    assert {g["group_name"]: g["vpc_id"] for g in result["security_groups"]} == {"hpc": vpc, "hpc-efa": vpc}
    assert [i["image_id"] for i in result["images"]] == [image]
    assert result["clusters"] == [] and result["missing"] == [] and result["changed"] is False
    assert calls and all(operation.startswith("Describe") for _service, operation in calls), calls


def test_without_the_zone_options_neither_is_read(calls, capsys):
    result = run(capsys, efs_file_systems=["fs-0123456789abcdef0"])
    assert "security_groups" not in result and "images" not in result
    assert result["missing"] == [{"kind": "efs_file_system", "id": "fs-0123456789abcdef0"}]
    assert {operation for _service, operation in calls} == {"DescribeFileSystems"}


def test_a_bad_cluster_name_is_refused_naming_the_option_before_any_call(calls, capsys):
    with patch_module_args(dict(CONNECTION, clusters=["ok-name", "no spaces allowed"])), pytest.raises(SystemExit):
        reference_info.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True and result["msg"].startswith("clusters: ")
    assert "no spaces allowed" in result["msg"] and "ok-name" not in result["msg"]
    assert calls == []
