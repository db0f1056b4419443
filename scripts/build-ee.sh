#!/usr/bin/env bash
# Build the execution environment (EE) of awx/execution-environment.yml (docs/execution-environment.md):
#   1. scripts/ee_constraints.py --check: awx/constraints.txt and the EE definition's ansible-core/ansible-runner
#      pins are those of requirements.lock, its collections those the tests use, and every Python requirement of the
#      EE (requirements.txt, the collections') is met by a locked version. Nothing is rewritten: on a difference it
#      stops and says what to run (`python scripts/ee_constraints.py` after editing requirements.lock);
#   2. this collection's tarball is built from the work tree into .build/ee-collection (never into the git tree);
#   3. `ansible-builder create` writes the build context (Containerfile, constraints, tarball) into .build/ee-context;
#   4. with --image only: podman (or docker) builds the image from that context. This step needs the base image
#      (quay.io/centos/centos:stream9), PyPI and Galaxy; steps 1 to 3 are offline.
#
#   bash scripts/build-ee.sh                                   # steps 1-3
#   bash scripts/build-ee.sh --image [--tag NAME:TAG] [--runtime podman|docker]
#   bash scripts/build-ee.sh --context DIR                     # another context folder (it is emptied first)
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

CONTEXT="$REPO/.build/ee-context"
# awx/execution-environment.yml copies the tarball from here (additional_build_files).
COLLECTION_DIR="$REPO/.build/ee-collection"
TAG="obi-hpc-provisioner-ee:latest"
IMAGE=0
RUNTIME=""

log() { printf '[build-ee] %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

while (($#)); do
    case "$1" in
        --image) IMAGE=1 ;;
        --tag) TAG="${2:?--tag needs a value}"; shift ;;
        --runtime) RUNTIME="${2:?--runtime needs a value}"; shift ;;
        --context) CONTEXT="$(realpath -m "${2:?--context needs a value}")"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) log "unknown argument: $1"; usage; exit 2 ;;
    esac
    shift
done

cd "$REPO"

log "checking awx/constraints.txt and the EE pins against requirements.lock"
python scripts/ee_constraints.py --check

if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    log "note: the work tree has uncommitted changes; the tarball holds them"
fi
log "collection tarball into ${COLLECTION_DIR#"$REPO"/}"
rm -rf "$COLLECTION_DIR"
# (ansible-core's import of cryptography's DSA warns on every start: not this build's concern.)
PYTHONWARNINGS=ignore ansible-galaxy collection build --output-path "$COLLECTION_DIR" "$REPO" >/dev/null
shopt -s nullglob
tarballs=("$COLLECTION_DIR"/obi-hpc_provisioner-*.tar.gz)
shopt -u nullglob
if ((${#tarballs[@]} != 1)); then
    log "expected one collection tarball in $COLLECTION_DIR, found ${#tarballs[@]}"
    exit 1
fi

log "ansible-builder create into $CONTEXT"
rm -rf "$CONTEXT"
ansible-builder create -f awx/execution-environment.yml -c "$CONTEXT" --output-filename Containerfile >/dev/null
for file in "_build/collection/${tarballs[0]##*/}" _build/constraints/constraints.txt Containerfile; do
    if [[ ! -f "$CONTEXT/$file" ]]; then
        log "the build context lacks $file"
        exit 1
    fi
done
log "build context ready: $CONTEXT (collection ${tarballs[0]##*/})"

if ((IMAGE)); then
    if [[ -z "$RUNTIME" ]]; then
        for candidate in podman docker; do
            if command -v "$candidate" >/dev/null 2>&1; then RUNTIME="$candidate"; break; fi
        done
    fi
    if [[ -z "$RUNTIME" ]] || ! command -v "$RUNTIME" >/dev/null 2>&1; then
        log "no container tool (podman or docker) found: the context is ready, build it elsewhere with"
        log "  podman build -f Containerfile -t $TAG <context>"
        exit 2
    fi
    log "$RUNTIME build -t $TAG"
    "$RUNTIME" build -f "$CONTEXT/Containerfile" -t "$TAG" "$CONTEXT"
    log "image $TAG built"
fi
