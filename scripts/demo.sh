#!/usr/bin/env bash
# The main job on the embedded emulator, as the Workflow Service runs it: start the emulator, seed the landing
# zone, then the lifecycle playbooks for a demo project (create and wait, describe, list, delete), each printing
# the result it hands back to AWX (set_stats). Everything stays on 127.0.0.1. The ids are UUID4 strings, as the
# platform sends them (VLAB_ID and PROJECT_ID choose others).
#   bash scripts/demo.sh [-e storage=efs_only] [-e tier=prod-batch] ...   (extra arguments go to every playbook)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
. "$REPO/scripts/emulator-ctl.sh"

PORT="${EMULATOR_PORT:-5000}"
ENDPOINT="http://127.0.0.1:$PORT"
SITE="$REPO/.build/demo-site.json"
started=$(date +%s)

emulator_start "$PORT"
python -m emulator.seed --endpoint "$ENDPOINT" --subnets "${SEED_SUBNETS:-4}" --quiet \
    --output "$REPO/.build/landing-zone.json" --site-vars "$SITE" >/dev/null

export AWS_ENDPOINT_URL="$ENDPOINT" ANSIBLE_SHOW_CUSTOM_STATS=true ANSIBLE_LOCALHOST_WARNING=false
VLAB_ID="${VLAB_ID:-$(python -c 'import uuid; print(uuid.uuid4())')}"
PROJECT_ID="${PROJECT_ID:-$(python -c 'import uuid; print(uuid.uuid4())')}"
project=(-e "@$SITE" -e "vlab_id=$VLAB_ID" -e "project_id=$PROJECT_ID")
run() {
    local playbook="$1"
    shift
    echo "[demo] ansible-playbook obi.hpc_provisioner.$playbook $*"
    ansible-playbook -i localhost, "obi.hpc_provisioner.$playbook" "$@"
}
run create "${project[@]}" -e wait=true "$@"
run describe "${project[@]}" "$@"
run list -e "@$SITE" -e "vlab_id=$VLAB_ID" "$@"
run delete "${project[@]}" "$@"
echo "[demo] done in $(( $(date +%s) - started )) s"
