"""Unit tests of plugins/module_utils/keypair_api.py: the key pair and secret stores against stubbed boto3 clients.

botocore's Stubber answers each call with a prepared response or error, in order, and nothing leaves the process.
What the modules do with the stores: tests/unit/plugins/modules/test_vlab_keypair.py (moto).
"""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api as api
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import TAG_KEY_PAIR

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf"


def stubbed(service):
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    stubber.activate()
    return RetryingBotoClientWrapper(client, aws.RETRY), stubber


@pytest.fixture
def ec2():
    client, stubber = stubbed("ec2")
    yield api.KeyPairs(client), stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def secretsmanager():
    client, stubber = stubbed("secretsmanager")
    yield api.SecretsManagerStore(client), stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def ssm():
    client, stubber = stubbed("ssm")
    yield api.SsmStore(client), stubber
    stubber.assert_no_pending_responses()


def key_pair(name, tags=None):
    return {"KeyName": name, "KeyPairId": "key-1", "KeyType": "ed25519", "PublicKey": "ssh-ed25519 AAAA",
            "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()]}


def secret(name, tags):
    return {"Name": name, "ARN": ARN, "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}


# ------------------------------------------------------------------------------------------- key pairs

def test_a_missing_key_pair_is_none(ec2):
    key_pairs, stubber = ec2
    stubber.add_client_error("describe_key_pairs", "InvalidKeyPair.NotFound")
    assert key_pairs.find("k") is None


def test_a_failed_call_names_what_was_being_done_and_the_operation(ec2):
    key_pairs, stubber = ec2
    stubber.add_client_error("describe_key_pairs", "UnauthorizedOperation")
    with pytest.raises(api.KeypairAWSError) as caught:
        key_pairs.find("k")
    assert caught.value.message == "Failed to describe key pair 'k' (DescribeKeyPairs)"
    assert caught.value.exception.response["Error"]["Code"] == "UnauthorizedOperation"


def test_the_message_names_the_key_pair_given_as_a_description(ec2):
    key_pairs, stubber = ec2
    stubber.add_client_error("delete_key_pair", "UnauthorizedOperation")
    with pytest.raises(api.KeypairAWSError) as caught:
        key_pairs.delete(key_pair("k"))
    assert caught.value.message == "Failed to delete key pair 'k' (DeleteKeyPair)"


def test_a_duplicate_key_pair_is_a_lost_race(ec2):
    key_pairs, stubber = ec2
    stubber.add_client_error("create_key_pair", api.DUPLICATE_KEY_PAIR)
    stubber.add_client_error("import_key_pair", api.DUPLICATE_KEY_PAIR)
    with pytest.raises(api.LostRace):
        key_pairs.create("k", "ed25519", {"a": "1"})
    with pytest.raises(api.LostRace):
        key_pairs.import_public_key("k", "ssh-ed25519 AAAA", {})


def test_key_pair_search_keeps_exact_matches_of_wanted_tags_given_as_any_type(ec2):
    key_pairs, stubber = ec2
    # EC2's filter values are wildcards: it may return more than was asked for.
    stubber.add_response("describe_key_pairs", {"KeyPairs": [key_pair("k-1", {"n": "1"}), key_pair("k-10", {"n": "10"})]},
                         {"Filters": [{"Name": "tag:n", "Values": ["1"]}], "IncludePublicKey": True})
    assert [found["KeyName"] for found in key_pairs.search(tags={"n": 1})] == ["k-1"]


def test_key_pair_search_without_filters_lists_the_managed_key_pairs(ec2):
    key_pairs, stubber = ec2
    stubber.add_response("describe_key_pairs", {"KeyPairs": []},
                         {"Filters": [{"Name": "tag-key", "Values": ["obi:hpc_provisioner:secret_store"]}],
                          "IncludePublicKey": True})
    assert key_pairs.search() == []


# ------------------------------------------------------------------------------------------- Secrets Manager

def test_a_missing_secret_is_none_and_another_name_is_not_this_one(secretsmanager):
    store, stubber = secretsmanager
    stubber.add_client_error("describe_secret", "ResourceNotFoundException")
    stubber.add_response("describe_secret", secret("k-other", {}))  # a partial ARN matched another secret
    assert store.find("k") is None
    assert store.find("k") is None


def test_a_secret_is_described_as_a_record(secretsmanager):
    store, stubber = secretsmanager
    stubber.add_response("describe_secret", dict(secret("k", {TAG_KEY_PAIR: "k"}), Description="d"))
    assert store.find("k") == {"store": "secretsmanager", "name": "k", "arn": ARN, "tags": {TAG_KEY_PAIR: "k"},
                               "description": "d", "kms_key_id": None, "deleted_date": None, "secure": True}


def test_deleting_a_secret_that_is_gone_is_done(secretsmanager):
    store, stubber = secretsmanager
    stubber.add_client_error("delete_secret", "ResourceNotFoundException")
    store.delete({"name": "k", "arn": ARN})


def test_secret_errors_name_the_secret(secretsmanager):
    store, stubber = secretsmanager
    stubber.add_client_error("get_secret_value", "AccessDeniedException")
    with pytest.raises(api.KeypairAWSError) as caught:
        store.read({"name": "k", "arn": ARN})
    assert caught.value.message == "Failed to read secret 'k' (GetSecretValue)"


def test_secret_search_reads_every_page_and_keeps_the_linked_secrets_with_the_tags(secretsmanager):
    store, stubber = secretsmanager
    listed = {"IncludePlannedDeletion": True, "Filters": [{"Key": "tag-key", "Values": [TAG_KEY_PAIR]}]}
    stubber.add_response("list_secrets", {"SecretList": [secret("a", {TAG_KEY_PAIR: "a", "n": "1"})], "NextToken": "t"},
                         listed)
    stubber.add_response("list_secrets", {"SecretList": [secret("b", {TAG_KEY_PAIR: "b", "n": "2"}),
                                                         secret("c", {"n": "1"})]}, dict(listed, NextToken="t"))
    assert [record["name"] for record in store.search({"n": 1})] == ["a"]


# ------------------------------------------------------------------------------------------- SSM

def stub_parameter_record(stubber, name, tags):
    stubber.add_response("list_tags_for_resource", {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]},
                         {"ResourceType": "Parameter", "ResourceId": name})
    stubber.add_response("get_parameter", {"Parameter": {"Name": name, "ARN": "arn:aws:ssm:::parameter" + name}},
                         {"Name": name, "WithDecryption": False})


def test_a_parameter_is_found_by_its_exact_name(ssm):
    store, stubber = ssm
    name = "/keys/k"
    stubber.add_response("describe_parameters", {"Parameters": [{"Name": name + "-sim", "Type": "SecureString"},
                                                                {"Name": name, "Type": "String", "KeyId": "alias/k"}]})
    stub_parameter_record(stubber, name, {TAG_KEY_PAIR: "k"})
    record = store.find(name)
    assert (record["name"], record["arn"], record["secure"], record["kms_key_id"]) == \
        (name, "arn:aws:ssm:::parameter/keys/k", False, "alias/k")


def test_a_parameter_that_is_gone_is_none_or_deleted_already(ssm):
    store, stubber = ssm
    stubber.add_response("describe_parameters", {"Parameters": []})
    stubber.add_client_error("delete_parameter", "ParameterNotFound")
    assert store.find("/keys/k") is None
    store.delete({"name": "/keys/k"})


def test_parameter_errors_name_the_operation_being_done(ssm):
    store, stubber = ssm
    stubber.add_client_error("put_parameter", "AccessDeniedException")
    with pytest.raises(api.KeypairAWSError) as caught:
        store.put_value({"name": "/k", "description": "d", "kms_key_id": None}, "value")
    assert caught.value.message == "Failed to store the private key in parameter '/k' (PutParameter)"
    stubber.add_response("describe_parameters", {"Parameters": [{"Name": "/k"}]})
    stubber.add_client_error("list_tags_for_resource", "InvalidResourceId")  # deleted since it was listed
    with pytest.raises(api.KeypairAWSError) as caught:
        store.find("/k")
    assert caught.value.message == "Failed to read the tags of parameter '/k' (ListTagsForResource)"


def test_parameter_search_filters_by_tag_and_reads_every_page(ssm):
    store, stubber = ssm
    filters = [{"Key": "tag:n", "Values": ["1"]}, {"Key": "tag:" + TAG_KEY_PAIR}]
    stubber.add_response("describe_parameters", {"Parameters": [{"Name": "/a", "Type": "SecureString"}], "NextToken": "t"},
                         {"ParameterFilters": filters})
    stubber.add_response("describe_parameters", {"Parameters": []}, {"ParameterFilters": filters, "NextToken": "t"})
    stub_parameter_record(stubber, "/a", {TAG_KEY_PAIR: "a", "n": "1"})
    assert [record["name"] for record in store.search({"n": 1})] == ["/a"]


def test_a_new_parameter_is_a_tagged_securestring(ssm):
    store, stubber = ssm
    stubber.add_response("put_parameter", {"Version": 1},
                         {"Name": "/k", "Value": "v", "Type": "SecureString", "Description": "d", "KeyId": "alias/k",
                          "Tags": [{"Key": TAG_KEY_PAIR, "Value": "k"}]})
    store.create("/k", "v", "d", "alias/k", {TAG_KEY_PAIR: "k"})


def test_a_store_by_name():
    assert api.STORES == {"secretsmanager": api.SecretsManagerStore, "ssm": api.SsmStore}
