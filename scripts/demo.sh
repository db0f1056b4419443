#!/usr/bin/env bash
# The main job on the embedded emulator: start the emulator, seed the landing zone, create a demo
# project's cluster, show it, delete it, stop the emulator. Everything stays on 127.0.0.1.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
. "$REPO/scripts/emulator-ctl.sh"

PORT="${EMULATOR_PORT:-5000}"
ENDPOINT="http://127.0.0.1:$PORT"
started=$(date +%s)

emulator_start "$PORT"
python -m emulator.seed --endpoint "$ENDPOINT" --subnets "${SEED_SUBNETS:-4}" --output "$REPO/.build/landing-zone.json"
ansible-playbook "$REPO/playbooks/demo.yml" -e "emulator_endpoint=$ENDPOINT" "$@"
emulator_stop
echo "[demo] done in $(( $(date +%s) - started )) s"
