#!/usr/bin/env bash
# Start and stop the local AWS emulator for the scripts; source it after bootstrap.sh.
#   emulator_start PORT   start `python -m emulator` on 127.0.0.1:PORT and wait until it answers
#   emulator_stop         stop it (also run on exit by the trap that emulator_start sets): SIGTERM, up to
#                         EMULATOR_STOP_GRACE seconds (default 20) to exit, then SIGKILL; it returns once the
#                         process is gone, and never fails

EMULATOR_PID=""

emulator_stop() {
    local pid="$EMULATOR_PID" grace="${EMULATOR_STOP_GRACE:-20}" waited=0
    EMULATOR_PID=""
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    # Poll in tenths of a second: `wait` alone would block for as long as the emulator takes.
    while kill -0 "$pid" 2>/dev/null && ((waited < grace * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "[emulator] still running ${grace} s after SIGTERM: killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    return 0
}

emulator_start() {
    local port="$1" log="$REPO/.build/emulator-$1.log" started=${EPOCHREALTIME/./}
    mkdir -p "$REPO/.build"
    (cd "$REPO" && exec "$VENV/bin/python" -m emulator --host 127.0.0.1 --port "$port") >"$log" 2>&1 &
    EMULATOR_PID=$!
    trap emulator_stop EXIT
    # Poll the health endpoint with backoff (50 ms doubling to 0.5 s), for at most 30 s.
    if ! "$VENV/bin/python" - "$port" "$EMULATOR_PID" <<'PY'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline, delay = time.monotonic() + 30, 0.05
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).close()
        sys.exit(0)
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(1)
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
sys.exit(1)
PY
    then
        echo "[emulator] did not start on port $port:" >&2
        cat "$log" >&2
        return 1
    fi
    local elapsed_ms=$(( (${EPOCHREALTIME/./} - started) / 1000 ))
    printf '[emulator] ready on http://127.0.0.1:%s in %d ms (log: %s)\n' "$port" "$elapsed_ms" "$log" >&2
}
