#!/usr/bin/env bash
# Every test suite: pytest (unit, the modules and playbooks against the emulator over HTTP with the real
# pcluster.lib, AWX jobs through ansible-runner, fault injection and bad input), the roles' Molecule scenarios
# (podman containers with real slurmdbd, MariaDB, munge; images built on first use), then the static checks
# (yamllint, ansible-lint production profile, ansible-test sanity, changelog lint).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cd "$REPO"
# Two workers (the machines have 2 cores); each gets whole test files and its own emulator.
python -m pytest tests -p no:cacheprovider -W ignore::DeprecationWarning -n 2 --dist loadfile "$@"
VENV="$VENV" bash "$REPO/scripts/molecule.sh" --all
VENV="$VENV" bash "$REPO/scripts/lint.sh"
