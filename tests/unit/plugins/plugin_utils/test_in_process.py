"""plugins/plugin_utils/in_process.py: a module run inside the worker reads its arguments, and what it and its
subprocesses print is its output, never the worker's."""

import os
import sys
import textwrap

import pytest

from ansible.module_utils import basic

from ansible_collections.obi.hpc_provisioner.plugins.plugin_utils import in_process

MODULES = {
    # Reads its one option like any module, and starts a child that writes to file descriptors 0-2.
    "echo_module": """
        import subprocess, sys
        from ansible.module_utils.basic import AnsibleModule
        module = AnsibleModule(argument_spec={"name": {"type": "str", "required": True}}, supports_check_mode=True)
        child = subprocess.run([sys.executable, "-c",
                                "import os, sys; os.write(1, b'child out\\\\n'); os.write(2, b'child err\\\\n');"
                                "print(repr(sys.stdin.read()), file=sys.stderr)"], check=True)
        module.exit_json(changed=False, name=module.params["name"], check_mode=module.check_mode)
    """,
    "failing_module": """
        from ansible.module_utils.basic import AnsibleModule
        module = AnsibleModule(argument_spec={})
        module.fail_json(msg="name: refused")
    """,
    "raising_module": """
        raise ValueError("boom")
    """,
    "warning_module": """
        from ansible.module_utils.basic import AnsibleModule
        module = AnsibleModule(argument_spec={"item": {"type": "str"}})
        module.warn("item " + module.params["item"])
        module.exit_json(changed=False)
    """,
    "silent_module": """
        VALUE = 1
    """,
}


@pytest.fixture(name="fake_modules")
def fixture_fake_modules(tmp_path, monkeypatch):
    """A package of small modules on sys.path; basic's arguments restored after the test."""
    package = tmp_path / "fake_modules_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in MODULES.items():
        (package / f"{name}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", None)
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", None)
    monkeypatch.setattr(os, "environ", dict(os.environ))
    return "fake_modules_pkg"


def params(**args):
    return in_process.json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()


def test_module_reads_its_arguments_and_its_children_print_into_its_output(fake_modules, capfd):
    streams = (sys.stdin, sys.stdout, sys.stderr)
    rc, stdout, stderr = in_process.run_module(
        f"{fake_modules}.echo_module", params(name="cluster-a", _ansible_check_mode=True), {"OBI_TEST_ENV": "set"})
    assert rc == 0
    result = in_process.json.loads(stdout[stdout.index("{"):])
    assert (result["name"], result["check_mode"]) == ("cluster-a", True)
    assert "child out" in stdout and "child err" in stderr
    assert "''" in stderr  # the child read nothing from its standard input: /dev/null
    assert os.environ["OBI_TEST_ENV"] == "set"
    escaped = capfd.readouterr()
    assert "child" not in escaped.out + escaped.err  # nothing reached the worker's own output
    assert (sys.stdin, sys.stdout, sys.stderr) == streams


def test_failing_module_reports_its_message(fake_modules):
    rc, stdout = in_process.run_module(f"{fake_modules}.failing_module", params(), {})[:2]
    assert rc == 1
    result = in_process.json.loads(stdout)
    assert result["failed"] is True and result["msg"] == "name: refused"


def test_raising_module_fails_with_the_exception_and_its_traceback(fake_modules):
    rc, stdout = in_process.run_module(f"{fake_modules}.raising_module", params(), {})[:2]
    result = in_process.json.loads(stdout)
    assert rc == 1 and result["failed"] is True
    assert result["msg"] == "ValueError: boom" and "Traceback" in result["exception"]


def test_module_that_never_exits_fails(fake_modules):
    rc, stdout = in_process.run_module(f"{fake_modules}.silent_module", params(), {})[:2]
    assert rc == 1
    assert "returned without calling exit_json or fail_json" in in_process.json.loads(stdout)["msg"]


def test_each_run_of_a_loop_reports_its_own_warnings_only(fake_modules):
    for item in ("one", "two"):
        rc, stdout = in_process.run_module(f"{fake_modules}.warning_module", params(item=item), {})[:2]
        assert rc == 0
        # In the module's result, as from a module process (not shown by the controller's display at once).
        assert [warning["event"]["msg"] for warning in in_process.json.loads(stdout)["warnings"]] == [f"item {item}"]


def test_module_fqn_is_the_collection_package_path():
    assert in_process.module_fqn("obi.hpc_provisioner.pcluster_cluster") == \
        "ansible_collections.obi.hpc_provisioner.plugins.modules.pcluster_cluster"


@pytest.mark.parametrize("version, possible", [("2.21.5", True), ("2.21.0", True), ("2.20.3", False),
                                               ("2.22.0", False), ("2.2.1", False)])
def test_only_the_tested_ansible_core_runs_modules_in_process(version, possible):
    assert in_process.in_process_possible(version) is possible
