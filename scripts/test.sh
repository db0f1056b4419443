#!/usr/bin/env bash
# Every test suite: pytest (unit, the modules and playbooks against the emulator over HTTP with the real
# pcluster.lib, AWX jobs through ansible-runner, fault injection and bad input), the roles' Molecule scenarios
# (podman containers with real slurmdbd, MariaDB, munge; images built on first use), then the static checks
# (yamllint, ansible-lint production profile, ansible-test sanity, changelog lint). Every output of pytest and
# Molecule is kept in .build/test-outputs and scanned for private keys, passwords and munge keys before the static
# checks (scripts/scan_secrets.py).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cd "$REPO"
export HPC_TEST_OUTPUTS="$REPO/.build/test-outputs"
rm -rf "$HPC_TEST_OUTPUTS"  # the scan covers this run's outputs only
mkdir -p "$HPC_TEST_OUTPUTS"
# Two workers (the machines have 2 cores); each gets whole test files and its own emulator.
python -m pytest tests -p no:cacheprovider -W ignore::DeprecationWarning -n 2 --dist loadfile "$@" 2>&1 \
    | tee "$HPC_TEST_OUTPUTS/pytest.log"
VENV="$VENV" bash "$REPO/scripts/molecule.sh" --all
python "$REPO/scripts/scan_secrets.py" "$HPC_TEST_OUTPUTS"
VENV="$VENV" bash "$REPO/scripts/lint.sh"
