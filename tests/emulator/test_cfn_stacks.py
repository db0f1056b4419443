"""The cfn_stacks fill's held deletions: each due transition finishes once, and a failed deletion fails its stack only."""

import json
import time

from botocore.config import Config

NO_RETRIES = Config(retries={"total_max_attempts": 1})
NESTED_BUCKET = "stk-nested-templates"


def nested_parent_template(s3):
    """A parent whose resource is a nested stack (as pcluster's cluster stack holds its queues' stack)."""
    s3.create_bucket(Bucket=NESTED_BUCKET)
    nested = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    s3.put_object(Bucket=NESTED_BUCKET, Key="nested.json", Body=json.dumps(nested).encode())
    return json.dumps({"Resources": {"Queues": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": f"https://s3.amazonaws.com/{NESTED_BUCKET}/nested.json"}}}})


def stack_names(cloudformation, prefix):
    return sorted(s["StackName"] for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"].startswith(prefix))


def test_deletions_due_together_each_finish_once(emu):
    """A parent's deletion deletes its nested stack through DeleteStack, which settled the other due deletions
    from inside the settling loop; the loop then popped them again (KeyError: an HTTP 500 to the request that
    happened to settle, and those stacks' resources left). Here every request succeeds and everything goes."""
    cloudformation = emu.client("cloudformation", config=NO_RETRIES)
    template = nested_parent_template(emu.client("s3"))
    parents = [f"stk-due-{index}" for index in range(4)]
    for name in parents:
        cloudformation.create_stack(StackName=name, TemplateBody=template)
    assert len(stack_names(cloudformation, "stk-due-")) == 8  # each parent and its nested stack
    emu.control("POST", "settings", {"stack_delete_seconds": 0.2})
    for name in parents:
        cloudformation.delete_stack(StackName=name)
    assert {s["StackStatus"] for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"] in parents} == {
        "DELETE_IN_PROGRESS"}
    time.sleep(0.3)
    assert stack_names(cloudformation, "stk-due-") == []  # this call settled all four, nested stacks with them
    assert emu.requests()["internal_errors"] == []


def test_a_deletion_a_service_refuses_leaves_delete_failed_and_can_be_retried(emu):
    """As on AWS: a resource that cannot be deleted (here a VPC that still has a subnet) fails the stack's deletion,
    not the request that settles it; once the dependency is gone, DeleteStack deletes the stack."""
    cloudformation, ec2 = emu.client("cloudformation", config=NO_RETRIES), emu.client("ec2")
    template = json.dumps({"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.91.0.0/16"}}}})
    cloudformation.create_stack(StackName="stk-vpc", TemplateBody=template)
    vpc = cloudformation.describe_stack_resources(StackName="stk-vpc")["StackResources"][0]["PhysicalResourceId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.1.0/24")["Subnet"]["SubnetId"]
    emu.control("POST", "settings", {"stack_delete_seconds": 0.1})
    cloudformation.delete_stack(StackName="stk-vpc")
    time.sleep(0.2)
    (stack,) = cloudformation.describe_stacks(StackName="stk-vpc")["Stacks"]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert "DependencyViolation" in stack["StackStatusReason"]
    assert emu.requests()["internal_errors"] == []  # a service's refusal, not an emulator defect
    ec2.delete_subnet(SubnetId=subnet)
    cloudformation.delete_stack(StackName="stk-vpc")
    time.sleep(0.2)
    assert stack_names(cloudformation, "stk-vpc") == []
    assert vpc not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
