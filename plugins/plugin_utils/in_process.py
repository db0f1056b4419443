# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run this collection's modules inside Ansible's task worker when they would run on the controller anyway.

Written by hand: no library does it. A module task normally costs a new Python process on top of the work: Ansible
builds the AnsiballZ zip (a scan of every module_utils file), starts `sh` and Python, and the module then compiles
ansible.module_utils and its own module_utils from the zip (no bytecode there) before importing boto3. With the
lifecycle playbooks' `connection: local` and `ansible_python_interpreter: {{ ansible_playbook_python }}`, that process
would be the same Python with the same packages as the worker Ansible forks for the task. So the worker runs the
module itself, the way AnsiballZ's loader does (ansible.module_utils._internal._ansiballz._loader): arguments
handed over in basic._ANSIBLE_ARGS, the module run as __main__, its JSON read back from stdout by the same parser.
The worker is a forked process that ends with the task: nothing the module imports or changes outlives the task (the
items of a loop run in one worker: each run gets its own arguments and starts with no warnings).
Each module has an action plugin of its name (plugins/action/) that is this class.

Anywhere else (another connection, become, async, another interpreter, an untested ansible-core, or the variable
hpc_modules_in_process false) the module runs the usual way.

The worker is forked from ansible-playbook, threads and all: a lock that another of its threads holds at that moment
stays held in the worker (OpenSSL's, say, while a callback plugin makes HTTPS calls from a thread), and a module that
then needs it (boto3 makes SSL contexts) waits forever. Ansible's own threads take no such lock; with a callback
plugin that does, set hpc_modules_in_process false.
"""
from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
import tempfile
import traceback

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.release import __version__ as ansible_core_version
from ansible.utils.display import Display

try:  # ansible-core's internals of the tested versions; any other core runs modules the usual way
    from ansible.module_utils import _internal as module_side, basic
    from ansible.module_utils.common import warnings as module_warnings
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # pragma: no cover - older ansible-core
    basic = None

display = Display()

# The ansible-core versions whose module-running internals this plugin follows (tested: tests/functional).
TESTED_CORE = ("2.21.",)
# Modules of this collection declare no serialization profile: ansible-core gives them 'legacy'.
PROFILE = "legacy"
IN_PROCESS = "RUN IN PROCESS"  # what -vvv says for each module run here (Ansible's says EXEC for a process)
LOCAL_CONNECTIONS = ("local", "ansible.builtin.local", "ansible.legacy.local")


def in_process_possible(core_version=ansible_core_version):
    """Whether this ansible-core is one whose internals run_module follows."""
    return basic is not None and core_version.startswith(TESTED_CORE)


class InProcessModuleAction(NormalAction):
    """The `normal` action, except that an eligible module runs in this worker (see the module docstring)."""

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        task_vars = task_vars if task_vars is not None else {}
        if wrap_async or not self._runs_in_process(task_vars):
            return super()._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars,
                                           wrap_async=wrap_async, ignore_unknown_opts=ignore_unknown_opts)
        module_name = module_name or self._task.action
        module_args = self._task.args if module_args is None else module_args
        self._update_module_args(module_name, module_args, task_vars, ignore_unknown_opts=ignore_unknown_opts)
        environment = {}
        self._compute_environment_string(raw_environment_out=environment)
        params = json.dumps({"ANSIBLE_MODULE_ARGS": module_args},
                            cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE))
        found = self._shared_loader_obj.module_loader.find_plugin_with_context(
            module_name, collection_list=self._task.collections)
        display.vvv("%s: %s in the task worker (no module process)" % (IN_PROCESS, found.resolved_fqcn),
                    host=self._play_context.remote_addr)
        rc, stdout, stderr = run_module(module_fqn(found.resolved_fqcn), params.encode(), environment)
        returned = self._parse_returned_data(
            {"rc": rc, "stdout": stdout, "stdout_lines": stdout.splitlines(), "stderr": stderr,
             "stderr_lines": stderr.splitlines()}, PROFILE)
        returned.remove_internal_keys()
        return returned.as_result_dict(for_round_trip=True)

    def _runs_in_process(self, task_vars):
        """The module would run on this machine, with this Python, as this user: run it here."""
        if not in_process_possible() or self._play_context.become:
            return False
        if self._connection._load_name not in LOCAL_CONNECTIONS:
            return False
        wanted = self._templar.template(task_vars.get("hpc_modules_in_process", True))
        try:
            if not boolean(wanted, strict=True):
                return False
        except TypeError:
            raise AnsibleActionFail("hpc_modules_in_process: %r is not valid: true or false" % (wanted,)) from None
        # ansible_python_interpreter (the delegated host's, as Ansible's own _configure_module reads it), else
        # ANSIBLE_PYTHON_INTERPRETER or ansible.cfg: 'auto' (discovery) never matches.
        host_vars = task_vars["ansible_delegated_vars"][self._task.delegate_to] if self._task.delegate_to else task_vars
        interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        return self._templar.template(interpreter) == sys.executable


def module_fqn(module_name):
    """ansible_collections.<ns>.<coll>.plugins.modules.<name> of a module's FQCN (obi.hpc_provisioner.x)."""
    namespace, collection, name = module_name.split(".")
    return "ansible_collections.%s.%s.plugins.modules.%s" % (namespace, collection, name)


def run_module(fqn, params, environment):
    """Run the module `fqn` as AnsiballZ's loader would, in this process: (exit status, stdout, stderr).

    File descriptors 0, 1 and 2 are redirected too, for the module's subprocesses (pcluster's CDK runs node,
    node_assets runs ansible-galaxy): they read nothing, and what they print lands in the module's output, as it would
    in a module process, never in Ansible's own output.
    """
    os.environ.update({key: str(value) for key, value in environment.items()})
    # A loop runs its items in one worker: each run starts, as a module process would, with no warnings of the last.
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()
    basic._ANSIBLE_ARGS = params
    basic._ANSIBLE_PROFILE = PROFILE
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err, \
            open(os.devnull, encoding="utf-8") as nothing:
        with redirected(sys.stdin, 0, nothing), redirected(sys.stdout, 1, out), redirected(sys.stderr, 2, err):
            rc, failure = _run(fqn)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if failure is not None:  # what AnsiballZ's loader reports for a module that raised or did not exit
        stdout = json.dumps({"failed": True, "msg": failure[0], "exception": failure[1]})
    return rc, stdout, stderr


def _run(fqn):
    """(exit status, None) when the module exited, (1, (message, traceback)) when it did not.

    While it runs, module_utils act as in a module process (``is_controller`` false): warnings and deprecations go
    into the module's result instead of straight to the controller's display, and results are encoded as a module's.
    """
    controller, module_side.is_controller = module_side.is_controller, False
    try:
        runpy.run_module(fqn, run_name="__main__", alter_sys=True)
    except SystemExit as end:  # sys.exit(None) is 0, sys.exit("text") is 1, as for a process
        status = end.code if isinstance(end.code, int) else int(end.code is not None)
        return status, None
    except Exception as error:  # pylint: disable=broad-except  # reported like AnsiballZ's loader does
        return 1, ("%s: %s" % (type(error).__name__, error), traceback.format_exc())
    finally:
        module_side.is_controller = controller
    return 1, ("module %s returned without calling exit_json or fail_json" % fqn, "")


@contextlib.contextmanager
def redirected(stream, fd, target):
    """Point the Python stream `stream` (sys.stdin, sys.stdout or sys.stderr) and the file descriptor `fd` at the file
    `target`, then back."""
    if fd:
        stream.flush()
    name = ("stdin", "stdout", "stderr")[fd]
    saved = os.dup(fd)
    os.dup2(target.fileno(), fd)
    setattr(sys, name, target)
    try:
        yield
    finally:
        if fd:
            target.flush()
        setattr(sys, name, stream)
        os.dup2(saved, fd)
        os.close(saved)
