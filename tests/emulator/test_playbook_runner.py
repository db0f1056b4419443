"""The playbook fixture the module integration tests stand on: amazon.aws modules reach the emulator."""


def test_amazon_aws_module_reaches_the_emulator_through_group_defaults(emu, run_playbook):
    result = run_playbook([
        {"name": "Make a VPC", "amazon.aws.ec2_vpc_net": {"name": "runner-check", "cidr_block": "10.99.0.0/16"}},
        {"name": "Find it", "amazon.aws.ec2_vpc_net_info": {"filters": {"tag:Name": "runner-check"}}},
    ])
    assert result.rc == 0, result.stdout + result.stderr
    assert result.results("Make a VPC")["changed"] is True
    assert len(result.results("Find it")["vpcs"]) == 1
    assert ("ec2", "CreateVpc", "write") in {(c["service"], c["operation"], c["kind"]) for c in emu.requests()["calls"]}
