"""The real pcluster.lib, end to end against the emulator over HTTP: one test per gap of stock moto.

Each test calls pcluster (or the AWS API it uses) exactly where stock moto 5.2.5 fails; the gap
numbers are those of the gap notes in emulator/README.md.
"""

import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from emulator.seed import seed

REGION = "us-east-1"


@pytest.fixture(scope="module")
def pc(emulator):
    """pcluster.lib bound to the emulator (it reads the endpoint from the environment)."""
    os.environ.update(AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=REGION,
                      AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    import pcluster.lib  # pylint: disable=import-outside-toplevel  # 0.75 s: only for this module

    return pcluster.lib


@pytest.fixture(scope="module")
def zone(emulator):
    return seed(emulator.endpoint, prefix="pcl", subnet_count=2)


def cluster_config(zone, max_count=4):
    subnet = zone["subnet_ids"][0]["id"]
    return {
        "Image": {"Os": "alinux2023", "CustomAmi": zone["ami_id"]},
        "HeadNode": {"InstanceType": "t3.medium",
                     "Networking": {"SubnetId": subnet, "SecurityGroups": [zone["security_group_id"]]},
                     "LocalStorage": {"RootVolume": {"Size": 40}}},
        "Scheduling": {"Scheduler": "slurm", "SlurmQueues": [{
            "Name": "debug",
            "ComputeResources": [{"Name": "t3micro", "InstanceType": "t3.micro", "MinCount": 0, "MaxCount": max_count}],
            "Networking": {"SubnetIds": [subnet]}}]},
    }


def wait_for(pc, name, predicate, timeout=30):
    deadline, delay = time.monotonic() + timeout, 0.1
    while time.monotonic() < deadline:
        try:
            described = pc.describe_cluster(cluster_name=name, region=REGION)
        except Exception as error:  # pylint: disable=broad-exception-caught  # NotFound is a state here
            described = error
        if predicate(described):
            return described
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise AssertionError(f"cluster {name} did not reach the expected state; last: {described}")


def is_gone(described):
    return type(described).__name__ == "NotFoundException"


def dryrun(call, **kwargs):
    from pcluster.api.errors import DryrunOperationException  # pylint: disable=import-outside-toplevel

    with pytest.raises(DryrunOperationException) as raised:
        call(region=REGION, dryrun=True, **kwargs)
    return raised.value.content


def test_gap1_block_device_mappings_accepted_in_dry_run(emu, zone):
    ec2 = emu.client("ec2")
    mappings = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeType": "gp3"}},  # sized by the AMI on AWS
                {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}]  # instance store
    with pytest.raises(ClientError) as raised:
        ec2.run_instances(ImageId=zone["ami_id"], InstanceType="t3.micro", MinCount=1, MaxCount=1, DryRun=True,
                          SubnetId=zone["subnet_ids"][0]["id"], BlockDeviceMappings=mappings)
    assert raised.value.response["Error"]["Code"] == "DryRunOperation"


def test_gap1_gap2_gap3_create_dryrun_validates_clean(pc, zone):
    content = dryrun(pc.create_cluster, cluster_name="pcl-dry", cluster_configuration=cluster_config(zone))
    assert "DryRun flag is set" in content.message
    messages = [m.to_dict() for m in content.validation_messages or []]
    assert [m for m in messages if m["level"] == "ERROR"] == []
    # The validators stock moto trips (gaps 1-3) have nothing to say.
    assert not [m for m in messages if "LaunchTemplate" in m["type"] or "Ami" in m["type"]], messages


def test_gap4_bucket_policy_conditions_and_principals(emu):
    s3 = emu.client("s3")
    bucket = "pcl-policy-check"
    s3.create_bucket(Bucket=bucket)
    arn = f"arn:aws:s3:::{bucket}"
    statements = [
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "LogsServiceOnly", "Effect": "Deny", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{arn}/reserved/*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{arn}/secret/*"},
    ]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    s3.put_object(Bucket=bucket, Key="open/file", Body=b"x")
    s3.put_object(Bucket=bucket, Key="reserved/file", Body=b"x")
    with pytest.raises(ClientError) as raised:  # a Deny that does concern the caller still denies
        s3.put_object(Bucket=bucket, Key="secret/file", Body=b"x")
    assert raised.value.response["Error"]["Code"] in ("AccessDenied", "403")


def test_lifecycle_create_describe_update_fleet_delete(emu, pc, zone):
    name = "pcl-life"
    created = pc.create_cluster(cluster_name=name, cluster_configuration=cluster_config(zone), region=REGION,
                                rollback_on_failure=False)
    assert created["cluster"]["clusterName"] == name
    described = wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "CREATE_COMPLETE")

    # gap 7: the head node came from its launch template, with its image, type and subnet.
    head = described["headNode"]
    assert head["instanceType"] == "t3.medium" and head["state"] == "running"
    assert head["privateIpAddress"] and head["instanceId"].startswith("i-")
    # gaps 5, 6, 9: alarms, metric filters, custom resources, wait conditions and the nested queue stack
    # all exist, and every resource has a logical id.
    cfn = emu.client("cloudformation")
    resources = cfn.describe_stack_resources(StackName=name)["StackResources"]
    types = {r["ResourceType"] for r in resources}
    assert {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm", "AWS::Logs::MetricFilter",
            "AWS::CloudFormation::WaitCondition", "AWS::CloudFormation::Stack"} <= types
    assert all(r.get("LogicalResourceId") for r in resources)

    # Update: the change set comes back from the dryrun, then the real update completes.
    content = dryrun(pc.update_cluster, cluster_name=name, cluster_configuration=cluster_config(zone, max_count=10))
    assert [(c.parameter, c.current_value, c.requested_value) for c in content.change_set] == [
        ("Scheduling.SlurmQueues[debug].ComputeResources[t3micro].MaxCount", "4", "10")]
    pc.update_cluster(cluster_name=name, cluster_configuration=cluster_config(zone, max_count=10), region=REGION)
    wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "UPDATE_COMPLETE")

    # gap 10: the head node's fleet daemon moves the fleet through its states.
    assert pc.describe_compute_fleet(cluster_name=name, region=REGION)["status"] == "RUNNING"
    assert pc.update_compute_fleet(cluster_name=name, status="STOP_REQUESTED", region=REGION)["status"] == "STOP_REQUESTED"
    emu.control("POST", "settings", {"fleet_transition_seconds": 0.1})
    time.sleep(0.25)
    assert pc.describe_compute_fleet(cluster_name=name, region=REGION)["status"] == "STOPPED"
    pc.update_compute_fleet(cluster_name=name, status="START_REQUESTED", region=REGION)
    time.sleep(0.25)
    assert pc.describe_compute_fleet(cluster_name=name, region=REGION)["status"] == "RUNNING"

    # gap 8: DeleteStack leaves the stack DELETE_IN_PROGRESS, so pcluster can describe it, then it is gone.
    deleted = pc.delete_cluster(cluster_name=name, region=REGION)
    assert deleted["cluster"]["clusterStatus"] == "DELETE_IN_PROGRESS"
    wait_for(pc, name, is_gone)
    assert name not in [c["clusterName"] for c in pc.list_clusters(region=REGION)["clusters"]]


def test_stack_create_delay_is_observable(emu, pc, zone):
    name = "pcl-slow"
    emu.control("POST", "settings", {"stack_create_seconds": 1.0})
    pc.create_cluster(cluster_name=name, cluster_configuration=cluster_config(zone), region=REGION)
    assert pc.describe_cluster(cluster_name=name, region=REGION)["clusterStatus"] == "CREATE_IN_PROGRESS"
    wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "CREATE_COMPLETE")
    pc.delete_cluster(cluster_name=name, region=REGION)
    wait_for(pc, name, is_gone)


def test_fault_stack_create_failed_reports_reason_and_deletes(emu, pc, zone):
    name = "pcl-fail"
    emu.control("POST", "faults/stack_create_failed", {"reason": "Failed to execute OnNodeConfigured script: exit 3"})
    pc.create_cluster(cluster_name=name, cluster_configuration=cluster_config(zone), region=REGION,
                      rollback_on_failure=False)
    described = wait_for(pc, name, lambda d: isinstance(d, dict) and d["clusterStatus"] == "CREATE_FAILED")
    assert described["cloudFormationStackStatus"] == "CREATE_FAILED"  # rollback disabled: the stack is kept as is
    assert described["failures"][0]["failureCode"] == "OnNodeConfiguredExecutionFailure"
    events = emu.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED" and e["ResourceType"].endswith("WaitCondition")]
    assert failed and "exit 3" in failed[0]["ResourceStatusReason"]
    assert emu.control("GET", "faults")["pending"] == {}  # the fault was consumed by this stack only
    pc.delete_cluster(cluster_name=name, region=REGION)
    wait_for(pc, name, is_gone)


def test_list_clusters_paginates(emu, pc):
    cfn = emu.client("cloudformation")
    template = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    names = [f"pcl-page-{index:02d}" for index in range(55)]  # moto pages DescribeStacks by 50
    for name in names:
        cfn.create_stack(StackName=name, TemplateBody=template, Tags=[
            {"Key": "parallelcluster:version", "Value": "3.16.1"}, {"Key": "parallelcluster:cluster-name", "Value": name}])
    try:
        first = pc.list_clusters(region=REGION)
        assert first.get("nextToken")
        second = pc.list_clusters(region=REGION, next_token=first["nextToken"])
        listed = [c["clusterName"] for c in first["clusters"] + second["clusters"]]
        assert set(names) <= set(listed) and len(listed) == len(set(listed))
    finally:
        for name in names:
            cfn.delete_stack(StackName=name)


def test_fault_stack_create_failed_rolls_back_when_allowed(emu, pc, zone):
    name = "pcl-rollback"
    emu.control("POST", "faults/stack_create_failed", {"reason": "Failed to execute OnNodeConfigured script: exit 4"})
    pc.create_cluster(cluster_name=name, cluster_configuration=cluster_config(zone), region=REGION,
                      rollback_on_failure=True)
    described = wait_for(pc, name, lambda d: isinstance(d, dict) and d["cloudFormationStackStatus"] != "CREATE_IN_PROGRESS")
    assert described["cloudFormationStackStatus"] == "ROLLBACK_COMPLETE"
    pc.delete_cluster(cluster_name=name, region=REGION)
    wait_for(pc, name, is_gone)
