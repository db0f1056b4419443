#!/usr/bin/env bash
# Every test suite: the emulator's pytest suite (real pcluster.lib over HTTP), then the static checks
# (yamllint, ansible-lint production profile, ansible-test sanity, changelog lint).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cd "$REPO"
# Two workers (the machines have 2 cores); each gets whole test files and its own emulator.
python -m pytest tests -p no:cacheprovider -W ignore::DeprecationWarning -n 2 --dist loadfile "$@"
VENV="$VENV" bash "$REPO/scripts/lint.sh"
