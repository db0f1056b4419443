"""The node playbook (obi.hpc_provisioner.node) refuses a node type it does not know before it configures anything."""
# pylint: disable=missing-function-docstring  # the test names say what they check

import pytest
import yaml

NODE_PLAYBOOK = yaml.safe_dump([{"ansible.builtin.import_playbook": "obi.hpc_provisioner.node"}])


@pytest.mark.parametrize("cfnconfig, node_type, message", [
    ("cfn_node_type=Weird\n", "", "node type 'Weird' (node_type, or cfn_node_type in "),
    ("cfn_region=us-east-1\n", "", "node type '' (node_type, or cfn_node_type in "),
    ("cfn_node_type=HeadNode\n", "Login", "node type 'Login' (node_type, or cfn_node_type in "),
    (None, "", "file not found"),
])
def test_an_unknown_node_type_fails_before_any_role(run_playbook, tmp_path, cfnconfig, node_type, message):
    path = tmp_path / "cfnconfig"
    if cfnconfig is not None:
        path.write_text(cfnconfig)
    run = run_playbook(NODE_PLAYBOOK, name="node", extra_vars={  # as the entry script runs it: -c local
        "node_cfnconfig": str(path), "node_type": node_type, "ansible_connection": "local"})
    assert run.rc != 0
    assert message in run.stdout, run.stdout[-3000:]
    if cfnconfig is not None:
        assert "must be one of: HeadNode, ComputeFleet, LoginNode" in run.stdout
    # Nothing was configured: no task of any role ran.
    tasks = [task["task"]["name"] for play in run.json["plays"] for task in play["tasks"]]
    assert not [name for name in tasks if "obi.hpc_provisioner." in name or "every node" in name], tasks
