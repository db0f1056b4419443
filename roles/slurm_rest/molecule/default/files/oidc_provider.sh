#!/usr/bin/env bash
# Start or stop a test OpenID provider (oidc-provider-mock) on 127.0.0.1, in the background, for the Molecule scenario.
#   oidc_provider.sh start NAME PORT MAX_AGE USERS_FILE STATE_DIR LOG_DIR MOCK_PROGRAM
#   oidc_provider.sh stop NAME STATE_DIR
# Its RSA key pair is made at start and lives in the process only: stop + start is a key rotation. Prints "started" or
# "stopped" when it did so.
set -euo pipefail
action="$1" name="$2"
if [[ "$action" == start ]]; then
    port="$3" max_age="$4" users="$5" state="$6" logs="$7" program="$8"
else
    state="$3"
fi
pidfile="$state/oidc-$name.pid"

stop() {
    [[ -f "$pidfile" ]] || return 0
    local pid
    pid="$(cat "$pidfile")"
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q oidc-provider-mock; then
        kill "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
        echo stopped
    fi
    rm -f "$pidfile"
}

case "$action" in
    stop) stop ;;
    start)
        stop >/dev/null
        mkdir -p "$state" "$logs"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "port $port of 127.0.0.1 is taken by another program" >&2
            exit 1
        fi
        setsid "$program" --host 127.0.0.1 --port "$port" --token-max-age "$max_age" \
            --user-claims-file "$users" >>"$logs/oidc-provider-$name.log" 2>&1 </dev/null &
        echo "$!" > "$pidfile"
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo started; exit 0; }
            sleep 0.1
        done
        echo "the provider $name did not listen on port $port, see $logs/oidc-provider-$name.log" >&2
        exit 1
        ;;
    *) echo "usage: $0 start|stop NAME ..." >&2; exit 2 ;;
esac
