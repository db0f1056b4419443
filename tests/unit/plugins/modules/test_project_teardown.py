"""Unit tests of project_teardown without a cluster stack (a project whose create stopped before its cluster step):
main() against moto in-process (mock_aws), every AWS call recorded. The cluster's own deletion, the data repository
associations and the racing create are tested against the emulator (tests/functional, tests/proof)."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import json

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from ansible.module_utils.testing import patch_module_args
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxApi
from ansible_collections.obi.hpc_provisioner.plugins.modules import project_teardown

REGION = "us-east-1"
CONNECTION = {"region": REGION, "access_key": "testing", "secret_key": "testing"}
VLAB, PROJECT = "3f1c2a4e-8b7d-4c1e-9f2a-1b2c3d4e5f60", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
CLUSTER = names.cluster_name(VLAB, PROJECT)
TABLE, BUCKET = "claims", "infra"
COST_TAGS = {names.COST_TAG_VLAB: VLAB, names.COST_TAG_PROJECT: PROJECT}
READS = ("Describe", "Get", "List", "Head", "Scan", "Query")


@pytest.fixture
def aws(monkeypatch):
    """moto with the claim table and the infra bucket; the module's calls as operation names (``aws.calls``)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(FsxApi, "associations", lambda self, file_system_id=None: [])  # moto has no FSx DRAs
    with mock_aws():
        state = type("Aws", (), {})()
        state.client = lambda service: boto3.client(service, region_name=REGION)
        state.client("dynamodb").create_table(TableName=TABLE, KeySchema=[{"AttributeName": "subnet_id", "KeyType": "HASH"}],
                                              AttributeDefinitions=[{"AttributeName": "subnet_id", "AttributeType": "S"}],
                                              BillingMode="PAY_PER_REQUEST")
        state.client("s3").create_bucket(Bucket=BUCKET)
        state.calls = []
        original = BaseClient._make_api_call

        def recording(client, operation, params):
            state.calls.append(operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)
        yield state


def half_created(aws, cluster=CLUSTER, tags=None):
    """What a create leaves when it stops before its cluster step: key pairs and secrets, a claim, node assets, logs."""
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or COST_TAGS).items()]
    for key in names.key_names(cluster):
        material = aws.client("ec2").create_key_pair(KeyName=key, KeyType="ed25519", TagSpecifications=[
            {"ResourceType": "key-pair", "Tags": tag_list}])["KeyMaterial"]
        aws.client("secretsmanager").create_secret(Name=key, SecretString=material, Tags=tag_list)
    aws.client("dynamodb").put_item(TableName=TABLE, Item={"subnet_id": {"S": "subnet-0123456789abcdef0"},
                                                           "cluster": {"S": cluster}})
    resources = names.cluster_resource_names(cluster)
    for key in (resources["node_vars_key"], resources["collection_key"], resources["host_key_key"]):
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x")
    logs = aws.client("logs")
    for group in (resources["pcluster_log_group_prefix"] + "202612070850", names.job_log_group(VLAB, PROJECT),
                  resources["pcluster_log_group_prefix"] + "other-202612070850"):  # the last: a cluster named <this>-other
        logs.create_log_group(logGroupName=group)


def run(aws, capsys, check_mode=False, **args):
    aws.calls.clear()
    options = dict(CONNECTION, vlab_id=VLAB, project_id=PROJECT, claim_table=TABLE, node_assets_bucket=BUCKET,
                   poll_interval=0.1, _ansible_check_mode=check_mode)
    with patch_module_args(dict(options, **args)), pytest.raises(SystemExit):
        project_teardown.main()
    return json.loads(capsys.readouterr().out)


def writes(aws):
    return [operation for operation in aws.calls if not operation.startswith(READS)]


def test_a_half_created_project_is_removed_in_order_and_a_rerun_changes_nothing(aws, capsys):
    half_created(aws)
    result = run(aws, capsys)
    assert result["changed"] and result["cluster_name"] == CLUSTER and result["passes"] == 1
    assert result["removed"]["key_pairs"] == names.key_names(CLUSTER) == result["removed"]["secrets"]
    assert result["removed"]["claims"] == ["subnet-0123456789abcdef0"] and result["removed"]["clusters"] == []
    assert sorted(result["removed"]["log_groups"]) == sorted([
        f"/aws/parallelcluster/{CLUSTER}-202612070850", names.job_log_group(VLAB, PROJECT)])
    assert len(result["removed"]["objects"]) == 3
    # The mark first, then the key pairs before their secrets, the claim last of all but the mark's removal.
    done = writes(aws)
    assert done[0] == "PutItem" and done[-2:] == ["DeleteItem", "DeleteItem"]
    assert done.index("DeleteKeyPair") < done.index("DeleteSecret")
    assert aws.client("dynamodb").scan(TableName=TABLE)["Items"] == []  # no claim, no mark
    assert [g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]] == [
        f"/aws/parallelcluster/{CLUSTER}-other-202612070850"]

    again = run(aws, capsys)
    assert again["changed"] is False and again["actions"] == []
    assert writes(aws) == ["PutItem", "DeleteItem"]  # the mark only, which is no change


def test_check_mode_reports_what_would_go_and_writes_nothing(aws, capsys):
    half_created(aws)
    result = run(aws, capsys, check_mode=True)
    assert result["changed"] and result["removed"]["key_pairs"] == names.key_names(CLUSTER)
    assert writes(aws) == []
    assert len(aws.client("ec2").describe_key_pairs()["KeyPairs"]) == 2


def test_a_key_pair_of_another_project_is_a_collision_and_nothing_changes(aws, capsys):
    half_created(aws, tags={names.COST_TAG_VLAB: VLAB, names.COST_TAG_PROJECT: "another-project"})
    result = run(aws, capsys)
    assert result["failed"] and writes(aws) == []
    assert (f"key pair {CLUSTER} belongs to vlab_id={VLAB}, project_id=another-project (its cost tags), not to this "
            f"request's vlab_id={VLAB}, project_id={PROJECT}: a name collision; nothing was changed") in result["msg"]
    assert len(aws.client("ec2").describe_key_pairs()["KeyPairs"]) == 2


def test_private_keys_in_ssm_are_found_by_the_key_pairs_link_tags(aws, capsys):
    key = names.key_names(CLUSTER)[0]
    aws.client("ec2").create_key_pair(KeyName=key, KeyType="ed25519", TagSpecifications=[{"ResourceType": "key-pair", "Tags": [
        {"Key": "obi:hpc_provisioner:secret_store", "Value": "ssm"},
        {"Key": "obi:hpc_provisioner:secret_name", "Value": f"/site/keys/{key}"}]}])
    aws.client("ssm").put_parameter(Name=f"/site/keys/{key}", Value="private", Type="SecureString")
    result = run(aws, capsys)
    assert result["removed"]["secrets"] == [f"/site/keys/{key}"]
    assert aws.client("ssm").describe_parameters()["Parameters"] == []


def test_logs_stay_when_asked(aws, capsys):
    half_created(aws)
    result = run(aws, capsys, delete_logs=False)
    assert result["removed"]["log_groups"] == [] and len(aws.client("logs").describe_log_groups()["logGroups"]) == 3


@pytest.mark.parametrize("field, value, message", [
    ("vlab_id", "Bad_Vlab", "vlab_id: 'Bad_Vlab' is not valid: lower-case letters"),
    ("project_id", "x" * 37, "project_id: '" + "x" * 37 + "' is not valid"),
    ("claim_table", " ", "claim_table: must not be empty"),
    ("wait_timeout", 0, "wait_timeout: 0 is not valid: a whole number of seconds, at least 1"),
])
def test_bad_input_is_refused_naming_the_field_before_any_call(aws, capsys, field, value, message):
    result = run(aws, capsys, **{field: value})
    assert result["failed"] and message in result["msg"] and aws.calls == []
