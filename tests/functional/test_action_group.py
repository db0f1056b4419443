"""meta/runtime.yml: one module_defaults group reaches amazon.aws's modules and this collection's alike."""

# The play's connection is only the defaults of group/obi.hpc_provisioner.aws. run_playbook also sets
# AWS_ENDPOINT_URL to the emulator, so the play points it at a closed loopback port: a module the group defaults
# missed would fail there (and never leave the machine).
GROUP_DEFAULTS_ONLY = """
- name: Group defaults only
  hosts: localhost
  connection: local
  gather_facts: false
  environment:
    AWS_ENDPOINT_URL: http://127.0.0.1:9
  module_defaults:
    group/obi.hpc_provisioner.aws:
      endpoint_url: "{{ endpoint }}"
      region: us-east-1
      access_key: testing
      secret_key: testing
  tasks:
"""


def test_collection_group_reaches_amazon_aws_and_collection_modules(emu, run_playbook):
    result = run_playbook(GROUP_DEFAULTS_ONLY + """
    - name: An amazon.aws module
      amazon.aws.ec2_vpc_net_info:
    - name: This collection's module
      obi.hpc_provisioner.vlab_keypair_info:
        names: [group-check-absent]
""", extra_vars={"endpoint": emu.endpoint})
    assert result.rc == 0, result.stdout + result.stderr
    assert result.results("This collection's module")["key_pairs"] == []
    operations = {(c["service"], c["operation"]) for c in emu.requests()["calls"]}
    assert ("ec2", "DescribeVpcs") in operations and ("ec2", "DescribeKeyPairs") in operations


def test_collection_group_reaches_subnet_claim(emu, run_playbook):
    """subnet_claim is in the group: the playbooks' module_defaults name the group only."""
    result = run_playbook(GROUP_DEFAULTS_ONLY + """
    - name: Release a claim in a table that does not exist
      obi.hpc_provisioner.subnet_claim:
        table: group-check-claims
        cluster: pcluster-group-check
        state: absent
      ignore_errors: true
""", extra_vars={"endpoint": emu.endpoint})
    assert result.rc == 0, result.stdout + result.stderr
    released = result.results("Release a claim in a table that does not exist")
    assert "Could not connect" not in released.get("msg", ""), released
    assert "dynamodb" in {c["service"] for c in emu.requests()["calls"]}
