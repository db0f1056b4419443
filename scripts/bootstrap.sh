#!/usr/bin/env bash
# Prepare a fresh Debian machine (root, no AWS account) for the demo and the tests:
# system packages, a Python 3.12 virtualenv in .venv with the pinned dev requirements, and this
# collection on the Ansible collections path. Safe to run again: it reuses what is already in place.
# Source it (`. scripts/bootstrap.sh`) to get VENV, REPO and the environment in the calling shell; it
# then leaves the shell's options alone (no `set -e` leaking into an interactive shell) and returns 1
# on failure.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
export REPO VENV

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# pcluster synthesises its CloudFormation templates with the CDK, whose jsii runtime needs node.
ensure_system_packages() {
    local missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v git >/dev/null 2>&1 || missing+=(git)
    if ((${#missing[@]})); then
        log "installing ${missing[*]} with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# ansible-core 2.21 needs Python >= 3.12. Debian 12's python3 is 3.11, so look for 3.12 elsewhere
# (pyenv installs on these machines); a pyenv shim that is not active fails the check and is skipped.
# 3.12, which the pinned requirements are tested with, comes before 3.13 wherever it is, so that every
# machine gets the same virtualenv.
find_python() {
    local candidate pyenv="${PYENV_ROOT:-$HOME/.pyenv}"
    for candidate in "${PYTHON:-}" python3.12 "$pyenv"/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 \
                     /usr/bin/python3.12 python3.13 "$pyenv"/versions/3.13*/bin/python3.13; do
        [[ -n "$candidate" ]] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
    log "no Python >= 3.12 found: set PYTHON=/path/to/python3.12"
    return 1
}

# requirements-dev.txt includes requirements.lock (the execution environment's exact versions): a change to either
# reinstalls.
ensure_venv() {
    local stamp="$VENV/.requirements.sha256" wanted
    wanted="$(cat "$REPO/requirements-dev.txt" "$REPO/requirements.lock" | sha256sum | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    local python
    python="$(find_python)" || return 1
    log "creating $VENV with $("$python" --version)"
    "$python" -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-dev.txt" &&
        echo "$wanted" > "$stamp"
}

# The collection is used from the work tree: a collections path whose obi/hpc_provisioner is this repo.
# The other collections (amazon.aws, community.mysql, ansible.posix) come from the `ansible` package.
ensure_collection_path() {
    local root="$REPO/.build/collections/ansible_collections/obi"
    mkdir -p "$root"
    ln -sfn "$REPO" "$root/hpc_provisioner"
    export ANSIBLE_COLLECTIONS_PATH="$REPO/.build/collections"
}

if ! { ensure_system_packages && ensure_venv && ensure_collection_path; }; then
    log "failed"
    if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then return 1; else exit 1; fi
fi
export PATH="$VENV/bin:$PATH"
# The controller configuration that the execution environment ships (awx/ansible.cfg): the scripts and the tests run
# the playbooks as AWX does.
export ANSIBLE_CONFIG="$REPO/awx/ansible.cfg"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
# Never reach a real AWS account from here: fake credentials, and every endpoint is the emulator's.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
unset AWS_PROFILE AWS_SESSION_TOKEN
