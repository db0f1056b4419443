"""The execution environment (EE) and the test virtualenv hold the same Python packages, at the versions of
requirements.lock (docs/execution-environment.md), and scripts/build-ee.sh makes a build context that installs them.

Fails when they drift: awx/constraints.txt not regenerated after a change to the lock, the virtualenv not
reinstalled (scripts/bootstrap.sh), a requirement of requirements.txt or of a collection that no locked version
meets, an unlocked dependency, or the EE definition's ansible-core / ansible-runner / collection pins.
"""

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("ee_constraints", REPO / "scripts" / "ee_constraints.py")
ee_constraints = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ee_constraints)


@pytest.fixture(scope="module")
def pins():
    return ee_constraints.read_lock()


@pytest.fixture(scope="module")
def definition():
    return ee_constraints.ee_definition()


def _locked(pins, requirement):
    """None when a locked version meets `requirement`, else why not."""
    key = canonicalize_name(requirement.name)
    if key not in pins:
        return f"{requirement}: not in requirements.lock"
    if not requirement.specifier.contains(pins[key][1], prereleases=True):
        return f"{requirement}: the lock has {pins[key][0]}=={pins[key][1]}"
    return None


def test_constraints_are_generated_from_the_lock(pins):
    assert ee_constraints.CONSTRAINTS.read_text(encoding="utf-8") == ee_constraints.render_constraints(pins), (
        "awx/constraints.txt differs from requirements.lock: run `python scripts/ee_constraints.py`")


def test_the_constraints_pin_every_package_of_the_lock(pins):
    lines = [line for line in ee_constraints.CONSTRAINTS.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    assert lines == [f"{name}=={version}" for name, version in (pins[key] for key in sorted(pins))]
    assert {"boto3", "botocore", "aiobotocore", "aws-parallelcluster", "ansible-core", "ansible-runner"} <= set(pins)


def test_the_virtualenv_runs_the_locked_versions(pins):
    wrong = []
    for name, version in pins.values():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (lock: {version})")
            continue
        if installed != str(version):
            wrong.append(f"{name}: {installed} installed, {version} locked")
    assert not wrong, "the virtualenv is not the lock's (run `. scripts/bootstrap.sh`): " + "; ".join(wrong)


def test_the_lock_holds_every_dependency_of_its_packages(pins):
    """As installed, every locked package's dependencies (with the extras asked for) are locked too, at versions that
    meet them: pip in the EE, installing the lock's roots, can only choose locked versions."""
    problems, seen = [], set()
    todo = [(key, "") for key in pins]
    while todo:
        key, extra = todo.pop()
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        for text in importlib.metadata.distribution(pins[key][0]).requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            if extra and not requirement.marker:
                continue  # already checked without the extra
            if (problem := _locked(pins, requirement)) is None:
                todo.extend((canonicalize_name(requirement.name), wanted) for wanted in requirement.extras)
            else:
                problems.append(f"{pins[key][0]}{f'[{extra}]' if extra else ''} needs {problem}")
    assert not problems, "; ".join(problems)


def test_every_python_requirement_of_the_ee_is_locked(pins, definition):
    requirements = ee_constraints.ee_python_requirements(definition)
    sources = {canonicalize_name(req.name): source for req, source in requirements}
    # The introspection really read requirements.txt and the collections' files.
    assert sources["aws-parallelcluster"] == "requirements.txt"
    assert sources["aiobotocore"] == "amazon.aws"
    assert sources["pymysql"] == "ansible.mysql"
    problems = [f"{problem} ({source})" for req, source in requirements if (problem := _locked(pins, req))]
    assert not problems, "; ".join(problems)


def test_the_ee_definition_pins_ansible_as_the_lock(pins, definition):
    for key in ("ansible_core", "ansible_runner"):
        requirement = Requirement(definition["dependencies"][key]["package_pip"])
        name, version = pins[canonicalize_name(requirement.name)]
        assert str(requirement.specifier) == f"=={version}", (
            f"{key}: {requirement}, the lock has {name}=={version}: run `python scripts/ee_constraints.py`")
    text = ee_constraints.EE_DEFINITION.read_text(encoding="utf-8")
    assert ee_constraints.render_ee_definition(text, pins) == text


def test_the_ee_collections_are_those_the_tests_use(definition):
    pinned = ee_constraints.ee_collections(definition)
    assert set(pinned) == {"amazon.aws", "ansible.mysql", "ansible.posix"}
    tested = {name: ee_constraints.installed_collection_version(name) for name in pinned}
    assert pinned == tested


def test_no_other_requirements_file_pins_a_locked_package_differently(pins):
    """Files that pin some of the same packages (ansible-test's unit test requirements, Molecule's) agree."""
    problems = []
    for path in [REPO / "requirements-dev.txt", REPO / "requirements-molecule.txt",
                 REPO / "tests" / "unit" / "requirements.txt"]:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) in pins and (problem := _locked(pins, requirement)):
                problems.append(f"{path.relative_to(REPO)}: {problem}")
    assert not problems, "; ".join(problems)


def test_a_changed_pin_is_a_problem(pins):
    """The check that scripts/build-ee.sh runs (`ee_constraints.py --check`) sees a lock that the constraints, the EE
    definition or the requirements no longer match."""
    assert ee_constraints.problems(pins) == []
    changed = dict(pins)
    for key, version in (("aws-parallelcluster", "3.16.0"), ("ansible-core", "2.21.99")):
        changed[key] = (pins[key][0], type(pins[key][1])(version))
    del changed["pymysql"]
    found = ee_constraints.problems(changed)
    assert found[0].startswith("awx/constraints.txt is not what requirements.lock gives")
    assert any(problem.startswith("EE definition: ansible-core==") and "==2.21.99" in problem for problem in found)
    assert any(problem.startswith("aws-parallelcluster==") and "(requirements.txt)" in problem for problem in found)
    assert any(problem.startswith("pymysql (ansible.mysql) is not in requirements.lock") for problem in found)


def test_the_build_script_makes_a_context_that_installs_the_locked_versions(tmp_path):
    context = tmp_path / "ee-context"
    result = subprocess.run(["bash", str(REPO / "scripts" / "build-ee.sh"), "--context", str(context)],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr

    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
    tarball = context / "_build" / "collection" / f"obi-hpc_provisioner-{galaxy['version']}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "MANIFEST.json" in names and "plugins/modules/pcluster_cluster.py" in names
    assert not any(name.startswith((".build/", ".venv/")) for name in names)

    build = context / "_build"
    assert "aws-parallelcluster==3.16.1" in (build / "requirements.txt").read_text(encoding="utf-8")
    assert "nodejs" in (build / "bindep.txt").read_text(encoding="utf-8")
    assert "internal_poll_interval = 0.01" in (build / "configs" / "ansible.cfg").read_text(encoding="utf-8")

    constraints = context / "_build" / "constraints" / "constraints.txt"
    assert constraints.read_text(encoding="utf-8") == ee_constraints.CONSTRAINTS.read_text(encoding="utf-8")
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8")) == {
        "collections": [{"name": name, "version": f"=={version}"}
                        for name, version in ee_constraints.ee_collections(ee_constraints.ee_definition()).items()]}

    steps = (context / "Containerfile").read_text(encoding="utf-8").splitlines()
    copy = next(i for i, step in enumerate(steps) if step.startswith("COPY _build/constraints/constraints.txt "))
    target = steps[copy].split()[-1]
    env = steps.index(f"ENV PIP_CONSTRAINT={target}")
    pip_installs = [i for i, step in enumerate(steps) if re.search(r"\bpip install\b", step)]
    # In the base stage, before its first pip install; the other stages are made FROM base and inherit both.
    assert steps.index("FROM $EE_BASE_IMAGE AS base") < copy < env < min(pip_installs)
    assert [step for step in steps if step.startswith("FROM ")][1:] == [
        "FROM base AS galaxy", "FROM base AS builder", "FROM base AS final"]
    assert not any(step.startswith("ENV PIP_CONSTRAINT") for step in steps[env + 1:])
    pins = ee_constraints.read_lock()
    assert (f'ARG ANSIBLE_INSTALL_REFS="ansible-core=={pins["ansible-core"][1]} '
            f'ansible-runner=={pins["ansible-runner"][1]}"') in steps
    # The image fails to build unless every locked package is installed at its version.
    assert any(f"--no-index --dry-run --quiet -r {target}" in step for step in steps[env:])
    assert any("ansible-galaxy collection install --offline /build/collection/obi-hpc_provisioner-" in step
               for step in steps)
    assert "COPY _build/configs/ansible.cfg /etc/ansible/ansible.cfg" in steps
    assert any('python3.12 -c "import pcluster.lib"' in step for step in steps)
