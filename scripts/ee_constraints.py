"""The execution environment's pip constraints, generated from requirements.lock (docs/execution-environment.md).

requirements.lock holds the exact version of every Python package the execution environment (EE) installs:
ansible-core, ansible-runner, requirements.txt, the Python requirements of the collections the EE installs
(amazon.aws, ansible.mysql, ansible.posix, as ansible-builder's introspection finds them) and all their
dependencies. requirements-dev.txt installs the same file into the test virtualenv, so the tests run what the EE
ships. awx/constraints.txt is the lock as the EE build reads it (PIP_CONSTRAINT, awx/execution-environment.yml).

    python scripts/ee_constraints.py                 write awx/constraints.txt from requirements.lock, and the
                                                     EE definition's ansible-core / ansible-runner pins
    python scripts/ee_constraints.py --check         exit 1 if awx/constraints.txt or the EE definition's pins
                                                     (ansible-core, ansible-runner, collections) differ from the
                                                     lock and the virtualenv, or a requirement is not pinned
    python scripts/ee_constraints.py lock [--upgrade NAME]... [--pin NAME==VERSION]...
                                                     resolve requirements.lock again with pip (needs PyPI): the
                                                     versions stay those of the lock except the named ones;
                                                     then write awx/constraints.txt and the EE pins as above
"""

import argparse
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"
CONSTRAINTS = REPO / "awx" / "constraints.txt"
EE_DEFINITION = REPO / "awx" / "execution-environment.yml"
REQUIREMENTS = REPO / "requirements.txt"
# Where the test virtualenv's collections come from (the `ansible` package of requirements-dev.txt): the EE
# definition pins the same versions.
SITE_COLLECTIONS = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"

CONSTRAINTS_HEADER = """\
# Generated from requirements.lock by scripts/ee_constraints.py: do not edit (docs/execution-environment.md).
# The execution environment's pip reads it through PIP_CONSTRAINT (awx/execution-environment.yml).
"""

LOCK_HEADER = """\
# Every Python package the execution environment installs, at the version the tests run: ansible-core,
# ansible-runner, requirements.txt, the collections' Python requirements and all their dependencies.
# requirements-dev.txt installs it into the test virtualenv; awx/constraints.txt is generated from it.
# Made by `python scripts/ee_constraints.py lock` (docs/execution-environment.md), which also writes
# awx/constraints.txt; change a version with `lock --pin NAME==VERSION` or `lock --upgrade NAME`.
# boto3/botocore stay within the range that aiobotocore (amazon.aws requires it) accepts: see the doc.
"""


class LockError(Exception):
    pass


def read_lock(path=LOCK):
    """{canonical name: (name as written, Version)} of the lock's `name==version` lines."""
    pins = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        if requirement.extras or requirement.marker or len(specifiers) != 1 or specifiers[0].operator != "==":
            raise LockError(f"{path}:{number}: not an exact `name==version` pin: {raw!r}")
        key = canonicalize_name(requirement.name)
        if key in pins:
            raise LockError(f"{path}:{number}: {requirement.name} is pinned twice")
        pins[key] = (requirement.name, Version(specifiers[0].version))
    return pins


def render_constraints(pins):
    """The text of awx/constraints.txt for the lock's pins: the header, then `name==version` sorted by name."""
    lines = [f"{name}=={version}" for name, version in (pins[key] for key in sorted(pins))]
    return CONSTRAINTS_HEADER + "\n".join(lines) + "\n"


def ee_definition(path=EE_DEFINITION):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def ee_ansible_pins(definition):
    """{canonical name: Requirement} of the definition's ansible_core / ansible_runner package_pip."""
    deps = definition["dependencies"]
    return {
        canonicalize_name(req.name): req
        for req in (Requirement(deps[key]["package_pip"]) for key in ("ansible_core", "ansible_runner"))
    }


def render_ee_definition(text, pins):
    """The EE definition's text with its ansible_core / ansible_runner package_pip set to the lock's versions."""
    for name in ("ansible-core", "ansible-runner"):
        key = canonicalize_name(name)
        if key not in pins:
            raise LockError(f"{name} is not in requirements.lock")
        text, count = re.subn(rf"(?m)^(\s*package_pip:\s*){re.escape(name)}\b[^\s#]*",
                              rf"\g<1>{name}=={pins[key][1]}", text)
        if count != 1:
            raise LockError(f"{EE_DEFINITION}: no single `package_pip: {name}...` line")
    return text


def ee_collections(definition):
    """{collection name: exact version} of the definition's inline galaxy requirements."""
    pins = {}
    for entry in definition["dependencies"]["galaxy"]["collections"]:
        version = str(entry.get("version", ""))
        if not version.startswith("=="):
            raise LockError(f"{EE_DEFINITION}: collection {entry['name']} is not pinned to one version (==X.Y.Z)")
        pins[entry["name"]] = version[2:]
    return pins


def installed_collection_version(name, root=SITE_COLLECTIONS):
    namespace, collection = name.split(".")
    manifest = root / namespace / collection / "MANIFEST.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]


def ee_python_requirements(definition=None, root=SITE_COLLECTIONS):
    """[(Requirement, source)] that the EE build's pip installs from: requirements.txt and the Python requirements
    of the EE's collections, found with ansible-builder's own introspection code (the one that runs in the build),
    on the virtualenv's copies of the collections (the EE definition pins their versions), and ansible-core /
    ansible-runner. Requirements whose markers do not apply to this Python (the EE's: 3.12 on Linux) are left out.
    """
    from ansible_builder._target_scripts import introspect

    definition = definition or ee_definition()
    exclude = definition["dependencies"].get("exclude", {}) or {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ee_collections(definition):
            namespace, collection = name.split(".")
            (Path(tmp) / "ansible_collections" / namespace).mkdir(parents=True, exist_ok=True)
            os.symlink(root / namespace / collection, Path(tmp) / "ansible_collections" / namespace / collection)
        data = introspect.process(data_dir=tmp, user_pip=str(REQUIREMENTS))
    lines = introspect.filter_requirements(
        data["python"], exclude=list(exclude.get("python", [])),
        exclude_collections=list(exclude.get("all_from_collections", [])))
    result = [(req, "EE definition") for req in ee_ansible_pins(definition).values()]
    for line in lines:
        text, source = (line.split("  # from collection ", 1) + [""])[:2]
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate():
            result.append((requirement, "requirements.txt" if source == "user" else source))
    return result


def problems(pins=None):
    """What makes the EE differ from the lock (empty when nothing does); the virtualenv is not looked at."""
    found = []
    pins = read_lock() if pins is None else pins
    wanted = render_constraints(pins)
    if not CONSTRAINTS.is_file() or CONSTRAINTS.read_text(encoding="utf-8") != wanted:
        found.append(f"{CONSTRAINTS.relative_to(REPO)} is not what requirements.lock gives: "
                     "run `python scripts/ee_constraints.py`")
    definition = ee_definition()
    for key, requirement in ee_ansible_pins(definition).items():
        if key not in pins or str(requirement.specifier) != f"=={pins[key][1]}":
            locked = f"=={pins[key][1]}" if key in pins else "nothing"
            found.append(f"EE definition: {requirement} but the lock has {locked}")
    for name, version in ee_collections(definition).items():
        tested = installed_collection_version(name)
        if tested != version:
            found.append(f"EE definition: collection {name}=={version} but the tests use {tested}")
    for requirement, source in ee_python_requirements(definition):
        key = canonicalize_name(requirement.name)
        if key not in pins:
            found.append(f"{requirement} ({source}) is not in requirements.lock")
        elif not requirement.specifier.contains(pins[key][1], prereleases=True):
            found.append(f"{requirement} ({source}) is not met by the lock's {pins[key][0]}=={pins[key][1]}")
    return found


def write_outputs(pins):
    """Write awx/constraints.txt and the EE definition's ansible-core / ansible-runner pins from the lock."""
    outputs = {CONSTRAINTS: render_constraints(pins),
               EE_DEFINITION: render_ee_definition(EE_DEFINITION.read_text(encoding="utf-8"), pins)}
    for path, text in outputs.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")


def lock(upgrade=(), pin=()):
    """Resolve requirements.lock again with `pip install --dry-run --ignore-installed --report` for this Python:
    every version stays that of the current lock, except the packages named in `upgrade` (any version) and
    `pin` (NAME==VERSION)."""
    current = read_lock() if LOCK.is_file() else {}
    pinned = {canonicalize_name(Requirement(text).name): text for text in pin}
    dropped = {canonicalize_name(name) for name in upgrade} | set(pinned)
    constraints = [f"{name}=={version}" for key, (name, version) in sorted(current.items()) if key not in dropped]
    constraints += pinned.values()
    # Top-level requirements without their pins: the same pip resolution the EE build makes.
    # ansible-core and ansible-runner by name: their versions are the lock's (the EE definition's follow it).
    top = {}
    for requirement, source in ee_python_requirements():
        top.setdefault(requirement.name if source == "EE definition" else str(requirement), source)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "constraints.txt").write_text("\n".join(constraints) + "\n", encoding="utf-8")
        (Path(tmp) / "requirements.txt").write_text("\n".join(top) + "\n", encoding="utf-8")
        report = Path(tmp) / "report.json"
        env = {key: value for key, value in os.environ.items() if key != "PIP_CONSTRAINT"}
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--disable-pip-version-check", "--report", str(report),
             "-r", str(Path(tmp) / "requirements.txt"), "-c", str(Path(tmp) / "constraints.txt")],
            check=True, env=env)
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    sources = {}
    for text, source in top.items():
        sources.setdefault(canonicalize_name(Requirement(text).name), set()).add(source)
    lines = []
    for item in sorted(installs, key=lambda item: canonicalize_name(item["metadata"]["name"])):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        note = sources.get(canonicalize_name(name))
        lines.append(f"{name}=={version}" + (f"  # {', '.join(sorted(note))}" if note else ""))
        if not item["download_info"]["url"].endswith(".whl"):
            print(f"note: {name} {version} has no wheel for this platform: the EE builds it from source",
                  file=sys.stderr)
    LOCK.write_text(LOCK_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.relative_to(REPO)} ({len(lines)} packages)")
    write_outputs(read_lock())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when the constraints or the EE definition differ from the lock")
    sub = parser.add_subparsers(dest="command")
    lock_parser = sub.add_parser("lock", help="resolve requirements.lock again (needs PyPI)")
    lock_parser.add_argument("--upgrade", action="append", default=[], metavar="NAME",
                             help="let pip choose this package's version (newest that fits)")
    lock_parser.add_argument("--pin", action="append", default=[], metavar="NAME==VERSION",
                             help="this version instead of the lock's")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 12):
        print(f"warning: Python {sys.version.split()[0]}; the EE runs 3.12 (markers are evaluated for this one)",
              file=sys.stderr)
    try:
        if args.command == "lock":
            lock(args.upgrade, args.pin)
            return 0
        pins = read_lock()
        if args.check:
            found = problems(pins)
            for problem in found:
                print(f"ee_constraints: {problem}", file=sys.stderr)
            return 1 if found else 0
        write_outputs(pins)
        return 0
    except LockError as error:
        print(f"ee_constraints: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
