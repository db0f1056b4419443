#!/usr/bin/env bash
# Every test suite: pytest (unit, the modules and playbooks against the emulator over HTTP with the real
# pcluster.lib, AWX jobs through ansible-runner, fault injection and bad input), the roles' Molecule scenarios
# (podman containers with real slurmdbd, MariaDB, munge; podman and the images are installed and built on first
# use), then the static checks (yamllint, ansible-lint production profile, ansible-test sanity, changelog lint), then
# the shipped tarball (its content, galaxy-importer, ansible-test units on the installed collection: ship-check.sh).
# Every output of pytest and Molecule is kept in .build/test-outputs and scanned for private keys, passwords and
# munge keys before the static checks (scripts/scan_secrets.py).
#
# Every suite runs, also when an earlier one failed; at the end one line per suite says whether it passed and how
# long it took, and the exit code is non-zero when any suite failed. Arguments go to pytest.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" || exit 1

cd "$REPO" || exit 1
export HPC_TEST_OUTPUTS="$REPO/.build/test-outputs"
rm -rf "$HPC_TEST_OUTPUTS"  # the scan covers this run's outputs only
mkdir -p "$HPC_TEST_OUTPUTS" || exit 1
# Ctrl-C (or a TERM) stops the whole run, not only the suite that is running.
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '[test.sh] %s\n' "$*" >&2; }

summary=()
failures=0
SUITE_DETAIL=""  # set by a suite function: appended to its summary line

# run_suite NAME COMMAND...: run one suite, record its outcome and time.
run_suite() {
    local name="$1" start=$SECONDS rc=0 line
    shift
    log "running $name"
    SUITE_DETAIL=""
    "$@" || rc=$?
    if ((rc == 0)); then
        line="$name: passed in $((SECONDS - start)) s"
    else
        line="$name: FAILED (exit $rc) in $((SECONDS - start)) s"
        failures=$((failures + 1))
    fi
    line+="${SUITE_DETAIL:+ ($SUITE_DETAIL)}"
    log "$line"
    summary+=("$line")
}

# pytest's output is shown and kept (its closing line stays visible: CI reads it). Its own exit code counts, not
# tee's; exit 5 (no test collected or run) is a failure too.
pytest_suite() {
    local rc
    # Two workers (the machines have 2 cores); each gets whole test files and its own emulator. The 25 slowest tests
    # are listed before the closing line (where the time goes).
    python -m pytest tests -p no:cacheprovider -W ignore::DeprecationWarning -n 2 --dist loadfile --durations=25 "$@" 2>&1 \
        | tee "$HPC_TEST_OUTPUTS/pytest.log"
    rc=${PIPESTATUS[0]}
    # Its closing line ("== 3 failed, 250 passed in 1800.00s (0:30:00) ==", without the = with -q) also goes into
    # the summary.
    SUITE_DETAIL="$(grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$HPC_TEST_OUTPUTS/pytest.log" | tail -n 1 \
        | sed -E 's/^=+ //; s/ =+$//')"
    # The failed tests' ids go into the summary too: CI shows only the end of the output.
    local failed
    failed="$(grep -E '^(FAILED|ERROR) tests/' "$HPC_TEST_OUTPUTS/pytest.log" | cut -d' ' -f2 | head -n 10 | paste -sd' ')"
    SUITE_DETAIL+="${failed:+; failed: $failed}"
    if ((rc == 5)) && [[ "$SUITE_DETAIL" != *"no tests ran"* ]]; then
        SUITE_DETAIL="no tests ran${SUITE_DETAIL:+: $SUITE_DETAIL}"
    fi
    return "$rc"
}

run_suite pytest pytest_suite "$@"
run_suite molecule env VENV="$VENV" bash "$REPO/scripts/molecule.sh" --all
run_suite secret-scan python "$REPO/scripts/scan_secrets.py" "$HPC_TEST_OUTPUTS"
run_suite lint env VENV="$VENV" bash "$REPO/scripts/lint.sh"
run_suite ship-check env VENV="$VENV" bash "$REPO/scripts/ship-check.sh"

log "summary:"
for line in "${summary[@]}"; do log "  $line"; done
if ((failures)); then
    log "$failures of ${#summary[@]} suites FAILED"
    exit 1
fi
log "all ${#summary[@]} suites passed"
