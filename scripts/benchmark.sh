#!/usr/bin/env bash
# Benchmark the lifecycle playbooks against the bare pcluster CLI on an emulator of its own (a free port of
# 127.0.0.1, stopped at the end): lifecycle operations side by side, list/describe at scale, concurrent creates.
# Writes benchmarks/results.md and .build/readme-benchmark.md, prints the table; exit 1 when a target fails.
#   bash scripts/benchmark.sh [--runs 3] [--scale 10,100,500] [--scale-runs N] [--concurrency 20] [--duplicates 5]
#                             [--skip lifecycle|scale|concurrency] ...   (see: python benchmarks/run.py --help)
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
# shellcheck source=scripts/emulator-ctl.sh
. "$REPO/scripts/emulator-ctl.sh"

# Peak memory and CPU time of each command come from GNU time.
if [[ ! -x /usr/bin/time ]]; then
    echo "[benchmark] installing GNU time with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

PORT="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
started=$SECONDS
emulator_start "$PORT"
# run.py imports the emulator (repository root) and the claims helper of this collection (collections path).
status=0
PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH:$PYTHONPATH" python "$REPO/benchmarks/run.py" --endpoint "http://127.0.0.1:$PORT" "$@" \
    || status=$?
echo "[benchmark] done in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s" >&2
exit "$status"
