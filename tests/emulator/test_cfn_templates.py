"""The cfn_templates fill: a stack's template is parsed outside moto's lock, so that other requests (of any service) go
on meanwhile as on AWS; parsed with libyaml into what moto's own parse gives; and under concurrent requests of every
kind the emulator never answers HTTP 500 and its backends stay consistent."""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.cloudformation.models import Stack

from conftest import OUTPUTS, REPO_ROOT, Emulator, _free_port, stop_emulator  # pylint: disable=import-error
from emulator.fills import cfn_templates

NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=60, connect_timeout=10)
HOLD_MARK = "emulator-test: hold the parse of this template"
# An emulator whose template parse (outside the lock) waits, for a template carrying HOLD_MARK, until the file
# argv[2] exists; it creates argv[3] when it starts waiting. Only the parse is held: what the fill does around it is
# the emulator's own code.
HOLDING_EMULATOR = """
import pathlib, sys, time
from emulator.fills import cfn_templates
release, entered = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
stock_load = cfn_templates.load
def load(template):
    if isinstance(template, str) and HOLD_MARK in template:
        entered.touch()
        deadline = time.monotonic() + 120
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return stock_load(template)
cfn_templates.load = load
from emulator.__main__ import main
main(["--port", sys.argv[1]])
"""


@contextlib.contextmanager
def holding_emulator(folder):
    """An emulator of its own (HOLDING_EMULATOR) for the with-block: yields (Emulator, entered, release)."""
    port, release, entered = _free_port(), folder / "release", folder / "entered"
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    log_path = OUTPUTS / f"emulator-{port}.log"
    script = f"HOLD_MARK = {HOLD_MARK!r}\n{HOLDING_EMULATOR}"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-c", script, str(port), str(release), str(entered)],  # pylint: disable=consider-using-with
                                   cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        emulator = Emulator(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                emulator.control("GET", "health")
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        yield emulator, entered, release
    finally:
        release.touch()
        stop_emulator(process, log_path)


def wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} not there after {seconds} s"
        time.sleep(0.05)


def test_a_stack_whose_template_is_being_parsed_holds_no_other_request(tmp_path):
    """moto parsed a CreateStack's template under the lock (63 of the 83 ms of pcluster's), and every other request
    of any service waited for it. Here, while the template's parse is held, EC2, DynamoDB, S3 and other
    CloudFormation calls are answered; the stack is then made from that template, as before."""
    with holding_emulator(tmp_path) as (emulator, entered, release):
        cloudformation = emulator.client("cloudformation", config=NO_RETRIES)
        ec2, dynamodb, s3 = (emulator.client(name, config=NO_RETRIES) for name in ("ec2", "dynamodb", "s3"))
        # Each service's first request loads its backend and fills (seconds): done before the held parse.
        ec2.create_key_pair(KeyName="tpl-held-key", KeyType="ed25519")
        dynamodb.create_table(TableName="tpl-held-table", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        s3.create_bucket(Bucket="tpl-held-bucket")
        cloudformation.list_stacks()
        template = (f"Description: '{HOLD_MARK}'\n"
                    "Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
                    "Outputs:\n  HandleRef:\n    Value: !Ref Handle\n")
        created = {}

        def create():
            created["answer"] = cloudformation.create_stack(StackName="tpl-held", TemplateBody=template)

        creating = threading.Thread(target=create)
        creating.start()
        try:
            wait_for(entered)
            assert [k["KeyName"] for k in ec2.describe_key_pairs(KeyNames=["tpl-held-key"])["KeyPairs"]] == ["tpl-held-key"]
            dynamodb.put_item(TableName="tpl-held-table", Item={"id": {"S": "one"}},
                              ConditionExpression="attribute_not_exists(id)")
            assert dynamodb.get_item(TableName="tpl-held-table", Key={"id": {"S": "one"}}, ConsistentRead=True)["Item"]
            s3.put_object(Bucket="tpl-held-bucket", Key="k", Body=b"v")
            assert cloudformation.list_stacks()["StackSummaries"] == []  # not made yet: its parse still holds it
            assert creating.is_alive()  # all of the above was answered while the template was being parsed
        finally:
            release.touch()
            creating.join(60)
        assert "StackId" in created["answer"]
        (stack,) = cloudformation.describe_stacks(StackName="tpl-held")["Stacks"]
        assert (stack["StackStatus"], stack["Description"]) == ("CREATE_COMPLETE", HOLD_MARK)
        assert [o["OutputKey"] for o in stack["Outputs"]] == ["HandleRef"]
        assert emulator.requests()["internal_errors"] == []


PARENT_TEMPLATE = """\
Parameters:
  Size:
    Type: String
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: !Sub 'stack ${AWS::StackName} size ${Size}'
  Queues:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://s3.amazonaws.com/BUCKET/nested.yaml
Outputs:
  GroupId:
    Value: !GetAtt Group.GroupId
  NestedHandle:
    Value:
      Fn::GetAtt: [Queues, Outputs.HandleRef]
"""
NESTED_TEMPLATE = """\
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  HandleRef:
    Value: !Ref Handle
"""
EXTRA_RESOURCE = "  Extra:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"


@pytest.fixture
def leaves_nothing(emu):
    """Whatever the test made goes, the stacks' security groups too, before the next test of the session counts
    what the emulator holds (test_cfn_fsx, test_seed)."""
    yield emu
    cloudformation, ec2, s3 = emu.client("cloudformation"), emu.client("ec2"), emu.client("s3")
    for stack in cloudformation.describe_stacks()["Stacks"]:
        if stack["StackName"].startswith("tpl-conc-") and not stack.get("ParentId"):
            cloudformation.delete_stack(StackName=stack["StackName"])
    deadline = time.monotonic() + 60
    while any(stack["StackName"].startswith("tpl-conc-") for stack in cloudformation.describe_stacks()["Stacks"]):
        assert time.monotonic() < deadline, "stacks still there after 60 s"
        time.sleep(0.2)  # deleted once stack_delete_seconds have passed, by a later CloudFormation call
    for pair in ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["tpl-conc-key-*"]}])["KeyPairs"]:
        ec2.delete_key_pair(KeyName=pair["KeyName"])
    with contextlib.suppress(ClientError):  # not made when the test failed early
        emu.client("dynamodb").delete_table(TableName="tpl-conc-table")
    with contextlib.suppress(ClientError):
        for item in s3.list_objects_v2(Bucket="tpl-conc-templates").get("Contents", []):
            s3.delete_object(Bucket="tpl-conc-templates", Key=item["Key"])
        s3.delete_bucket(Bucket="tpl-conc-templates")


def test_concurrent_stacks_and_other_calls_never_get_a_500_and_stay_consistent(leaves_nothing):
    """Stacks created (template by body and by URL, each with a nested stack) and updated while key pairs, conditional
    DynamoDB writes, S3 objects and stack reads go on at once: no HTTP 500 (the emu fixture checks), every stack
    made whole from its own template, one conditional write won per item, every key pair and object there."""
    emu, bucket, table = leaves_nothing, "tpl-conc-templates", "tpl-conc-table"
    s3, dynamodb, ec2 = emu.client("s3"), emu.client("dynamodb"), emu.client("ec2")
    cloudformation = emu.client("cloudformation")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="nested.yaml", Body=NESTED_TEMPLATE.encode())
    parent = PARENT_TEMPLATE.replace("BUCKET", bucket)
    s3.put_object(Bucket=bucket, Key="parent.yaml", Body=parent.encode())
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    names = [f"tpl-conc-{index}" for index in range(6)]
    errors, writes = [], []

    def guarded(work):
        def run():
            try:
                work()
            except Exception as error:  # pylint: disable=broad-exception-caught  # reported by the assertion below
                errors.append(repr(error))
        return threading.Thread(target=run)

    def create(index, name):
        source = {"TemplateURL": f"https://s3.amazonaws.com/{bucket}/parent.yaml"} if index % 2 else {"TemplateBody": parent}
        emu.client("cloudformation", config=NO_RETRIES).create_stack(
            StackName=name, Parameters=[{"ParameterKey": "Size", "ParameterValue": str(index)}], **source)

    def key_pairs(index):
        client = emu.client("ec2", config=NO_RETRIES)
        client.create_key_pair(KeyName=f"tpl-conc-key-{index}", KeyType="ed25519")
        client.describe_key_pairs(KeyNames=[f"tpl-conc-key-{index}"])

    def claim(index):
        try:
            emu.client("dynamodb", config=NO_RETRIES).put_item(
                TableName=table, Item={"id": {"S": f"item-{index % 3}"}, "by": {"S": str(index)}},
                ConditionExpression="attribute_not_exists(id)")
            writes.append(index % 3)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def objects(index):
        client = emu.client("s3", config=NO_RETRIES)
        client.put_object(Bucket=bucket, Key=f"object-{index}", Body=os.urandom(256 * 1024))
        emu.client("cloudformation", config=NO_RETRIES).describe_stacks()

    threads = ([guarded(lambda i=i, n=n: create(i, n)) for i, n in enumerate(names)]
               + [guarded(lambda i=i: key_pairs(i)) for i in range(6)] + [guarded(lambda i=i: claim(i)) for i in range(9)]
               + [guarded(lambda i=i: objects(i)) for i in range(6)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for index, name in enumerate(names):
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert outputs["NestedHandle"]  # the nested stack's output, read through the parent
        description = ec2.describe_security_groups(GroupIds=[outputs["GroupId"]])["SecurityGroups"][0]["Description"]
        assert description == f"stack {name} size {index}"

    updated = parent.replace("Outputs:\n", EXTRA_RESOURCE + "Outputs:\n")  # the same template and one more resource

    def update(name):
        emu.client("cloudformation", config=NO_RETRIES).update_stack(
            StackName=name, TemplateBody=updated, Parameters=[{"ParameterKey": "Size", "UsePreviousValue": True}])

    threads = [guarded(lambda n=n: update(n)) for n in names] + [guarded(lambda i=i: objects(i)) for i in range(6, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for name in names:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        resources = {r["LogicalResourceId"] for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]}
        assert (stack["StackStatus"], resources) == ("UPDATE_COMPLETE", {"Group", "Queues", "Extra"})
    assert sorted(writes) == [0, 1, 2]  # one conditional write won per item
    assert len(ec2.describe_key_pairs(KeyNames=[f"tpl-conc-key-{i}" for i in range(6)])["KeyPairs"]) == 6
    assert len(s3.list_objects_v2(Bucket=bucket, Prefix="object-")["Contents"]) == 9


@pytest.mark.parametrize("template", [
    PARENT_TEMPLATE,
    "Resources:\n  A:\n    Type: X\n    Properties:\n      Join: !Join ['', [a, !Ref B]]\n      Get: !GetAtt C.D\n"
    "      Select: !Select [0, !Split [',', !ImportValue E]]\n      Sub: !Sub ['${F}', {F: !Ref G}]\n",
    json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Key": "k", "Value": "\u00e9"}]}}}}),
    json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}, indent="\t"),  # tabs: no YAML, JSON
], ids=["short-forms", "nested-short-forms", "json", "json-with-tabs"])
def test_templates_parse_as_moto_parses_them(template):
    """libyaml's loader with moto's constructors builds the document moto's own parse builds (unpatched here)."""
    assert cfn_templates.load(template) == Stack.parse_template(template)


def test_a_template_no_parser_takes_fails_as_in_moto():
    broken = "Resources: [unclosed\n  - {"
    with pytest.raises(Exception) as moto_error:
        Stack.parse_template(broken)
    with pytest.raises(type(moto_error.value)):
        cfn_templates.load(broken)
