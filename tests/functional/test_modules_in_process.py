"""plugins/action/in_process.py: this collection's modules run inside Ansible's task worker when they would run on
the controller with the controller's Python, and give the same results, failures, check mode and secrecy as a module
process; with another interpreter, or hpc_modules_in_process false, they run as a module process (AnsiballZ)."""
# pylint: disable=missing-function-docstring,redefined-outer-name  # test names say what they check; pytest fixtures

import sys
import uuid

import pytest


@pytest.fixture
def play(emu, run_playbook):  # pylint: disable=unused-argument  # emu: faults and request log reset per test
    return run_playbook


def key_info(name, **more_vars):
    task = {"name": "read", "obi.hpc_provisioner.vlab_keypair_info": {"names": [name]}}
    if more_vars:
        task["vars"] = more_vars
    return [task]


def ran_as_process(run, module):
    """ansible-playbook -vvv names the AnsiballZ file it runs in a module process, and says RUN IN PROCESS for a
    module the worker runs."""
    output = run.stdout + run.stderr
    in_process = f"RUN IN PROCESS: obi.hpc_provisioner.{module} in the task worker" in output
    as_process = f"AnsiballZ_{module}.py" in output
    assert in_process != as_process, output[-3000:]
    return as_process


def test_in_process_gives_the_module_process_result_and_keeps_the_private_key_out(emu, play):
    name = f"inproc-{uuid.uuid4().hex[:10]}"
    checked = play([{"name": "key", "obi.hpc_provisioner.vlab_keypair": {"name": name}}], check=True, verbosity=3,
                   name="check")
    assert checked.rc == 0, checked.stdout + checked.stderr
    assert checked.results("key")["changed"] is True
    assert emu.client("ec2").describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}])["KeyPairs"] == []
    assert not ran_as_process(checked, "vlab_keypair")

    made = play([{"name": "key", "obi.hpc_provisioner.vlab_keypair": {"name": name}}], verbosity=3, name="make")
    assert made.rc == 0 and made.results("key")["changed"] is True, made.stdout + made.stderr
    private_key = emu.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    body = private_key.strip().splitlines()[1]
    assert body not in made.stdout + made.stderr

    here = play(key_info(name), verbosity=3, name="here")
    apart = play(key_info(name, hpc_modules_in_process=False), verbosity=3, name="apart")
    assert here.rc == 0 and apart.rc == 0, here.stdout + apart.stdout
    assert not ran_as_process(here, "vlab_keypair_info") and ran_as_process(apart, "vlab_keypair_info")
    assert here.results("read")["key_pairs"] == apart.results("read")["key_pairs"]
    assert [pair["key_name"] for pair in here.results("read")["key_pairs"]] == [name]


def test_in_process_failure_names_the_option(emu, play):
    refused = play([{"name": "key", "obi.hpc_provisioner.vlab_keypair": {"name": "inproc-x", "secret_store": "vault"}}],
                   verbosity=3)
    assert refused.rc != 0
    result = refused.results("key")
    assert result["failed"] is True and "secret_store" in result["msg"] and "secretsmanager, ssm" in result["msg"]
    assert not ran_as_process(refused, "vlab_keypair")
    assert not [call for call in emu.requests()["calls"] if call["service"] == "ec2"]


def test_another_interpreter_runs_the_module_as_a_process(emu, play, tmp_path):  # pylint: disable=unused-argument
    other = tmp_path / "python3"  # the same Python under another path: Ansible would start a new process
    other.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    other.chmod(0o755)
    run = play(key_info("inproc-absent", ansible_python_interpreter=str(other)), verbosity=3)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.results("read")["key_pairs"] == []
    assert ran_as_process(run, "vlab_keypair_info")


def test_a_bad_switch_is_refused_naming_it(emu, play):
    run = play(key_info("inproc-absent", hpc_modules_in_process="sometimes"))
    assert run.rc != 0
    assert run.results("read")["msg"] == "hpc_modules_in_process: 'sometimes' is not valid: true or false"
    assert not emu.requests()["calls"]
