#!/usr/bin/env bash
# What ships is what is tested: build the collection tarball as a release would, then check it as Galaxy and a
# collection contributor do:
#   1. ansible-galaxy collection build (into .build/dist)
#   2. the tarball's content: what runs where the collection is installed, and nothing that cannot run from it
#      (the emulator, its suites, Molecule scenarios, scripts, dev requirements: galaxy.yml's build_ignore)
#   3. galaxy-importer, what Galaxy and Automation Hub run on upload (ansible-doc, ansible-lint, flake8, the role
#      READMEs, the changelog), in its own virtualenv (.build/importer-venv, requirements-importer.txt): any error or
#      warning fails, but for one false finding of the importer (see importer_findings)
#   4. ansible-test units on the installed tarball, as a contributor runs them (--venv --requirements: a virtualenv
#      with ansible-test's own pytest and tests/unit/requirements.txt)
# ansible-test sanity runs on the work tree in scripts/lint.sh.
#
# Environment: VENV (the dev virtualenv: ansible-galaxy, ansible-test, the `ansible` package; default .venv).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
BUILD="$REPO/.build"
IMPORTER_VENV="$BUILD/importer-venv"
export PATH="$VENV/bin:$PATH"
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATHS || true

log() { printf '[ship-check] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

step_start=0
header() { step_start=$SECONDS; log "== $*"; }
footer() { log "-- passed in $((SECONDS - step_start)) s"; }

# --------------------------------------------------------------------------
header "1/4 build the collection tarball"
rm -rf "$BUILD/dist"
ansible-galaxy collection build --force --output-path "$BUILD/dist" "$REPO" >/dev/null
TARBALL="$(ls "$BUILD"/dist/obi-hpc_provisioner-*.tar.gz)"
log "$TARBALL ($(du -k "$TARBALL" | cut -f1) kB)"
footer

# --------------------------------------------------------------------------
header "2/4 tarball content"
listing="$(tar -tzf "$TARBALL")"
# Nothing that needs the repository: the emulator and what runs against it, test tooling, Molecule, dev files.
unwanted="$(grep -E '^(emulator|scripts|benchmarks|docs|\.ci|\.build|\.venv)/|^tests/(functional|proof|emulator|tooling|output)/|^tests/[^/]+\.py$|^roles/[^/]+/molecule/|^requirements-(dev|molecule|importer)\.txt$|^changelogs/fragments/|__pycache__|\.pyc$|^\.' <<<"$listing" || true)"
[[ -z "$unwanted" ]] || fail "the tarball holds what cannot run from it (galaxy.yml build_ignore):"$'\n'"$unwanted"
# What a user and Galaxy need.
required=(README.md COPYING CHANGELOG.rst MANIFEST.json FILES.json meta/runtime.yml requirements.txt requirements.yml
          bindep.txt tests/unit/requirements.txt changelogs/changelog.yaml awx/job_templates.json)
for role in "$REPO"/roles/*/; do required+=("roles/$(basename "$role")/README.md"); done
for path in "${required[@]}"; do
    grep -qxF "$path" <<<"$listing" || fail "$path is missing from the tarball"
done
log "$(wc -l <<<"$listing") entries; none unwanted; ${#required[@]} required files present"
footer

# --------------------------------------------------------------------------
header "3/4 galaxy-importer"
stamp="$IMPORTER_VENV/.requirements.sha256"
wanted="$(sha256sum "$REPO/requirements-importer.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    log "creating $IMPORTER_VENV"
    rm -rf "$IMPORTER_VENV"
    "$VENV/bin/python" -m venv "$IMPORTER_VENV"
    "$IMPORTER_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-importer.txt"
    echo "$wanted" > "$stamp"
fi
# Galaxy's checks, ansible-test aside (it runs in step 4 and in lint.sh); flake8 on, as Automation Hub runs it.
importer_cfg="$BUILD/galaxy-importer.cfg"
cat > "$importer_cfg" <<'EOF'
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = True
RUN_ANSIBLE_TEST = False
CHECK_CHANGELOG = True
EOF
importer_log="$BUILD/galaxy-importer.log"
importer_result="$BUILD/importer_result.json"  # written by the importer on success only
rm -f "$importer_result"
rc=0
(cd "$BUILD" && GALAXY_IMPORTER_CONFIG="$importer_cfg" PATH="$IMPORTER_VENV/bin:$PATH" \
    "$IMPORTER_VENV/bin/python" -m galaxy_importer.main "$TARBALL") >"$importer_log" 2>&1 || rc=$?
# The importer runs flake8 on the file ansible-doc names for a plugin's documentation; for filter and test plugins
# that is their YAML sidecar (plugins/filter/NAME.yml), which is not Python: E999 there is the importer's, not ours.
findings="$(grep -E '^(WARNING|ERROR)' "$importer_log" \
    | grep -vE '^WARNING: plugins/(filter|test)/[a-z0-9_]+\.yml:[0-9]+:[0-9]+: E999 ' || true)"
if ((rc != 0)) || [[ -n "$findings" ]] || [[ ! -s "$importer_result" ]]; then
    tail -n 40 "$importer_log" >&2
    fail "galaxy-importer (exit $rc) reported:"$'\n'"$findings"
fi
log "galaxy-importer: no finding ($(grep -c 'E999' "$importer_log" || true) E999 on YAML doc sidecars left aside)"
footer

# --------------------------------------------------------------------------
header "4/4 ansible-test units on the installed tarball"
SHIPPED="$BUILD/shipped"
rm -rf "$SHIPPED"
ANSIBLE_COLLECTIONS_PATH="$SHIPPED" ansible-galaxy collection install --offline --no-deps -p "$SHIPPED" "$TARBALL" >/dev/null
# ansible-test lists the content with git when it finds a repository at or above the collection: this copy lies in the
# repository's ignored .build/, so it gets a repository of its own (nothing committed: untracked files count).
git -C "$SHIPPED/ansible_collections/obi/hpc_provisioner" init -q
# The dependency collections, from the `ansible` package of the dev virtualenv (Galaxy is unreachable here).
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for dep in amazon ansible community; do
    ln -s "$SITE/ansible_collections/$dep" "$SHIPPED/ansible_collections/$dep"
done
(cd "$SHIPPED/ansible_collections/obi/hpc_provisioner" \
    && ansible-test units --venv --requirements --python "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no)
footer
