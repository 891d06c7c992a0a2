#!/usr/bin/env bash
# Builds the raftkv node image (default tag raftkv-node:local, or $OPENRAFT_KV_IMAGE).
#
# Base image: $BASE_IMAGE when given. Otherwise python:3.11-slim when it is already present
# locally (or when BUILD_IMAGE_PULL=1 allows pulling it); otherwise a Python base built here
# from Debian packages (raftkv-base:py311-bookworm, built once and reused), because this
# machine reaches no image registry.
#
# A base without pip gets the project and its dependencies as a site-packages tree made on
# the host with `pip install --target ... --only-binary=:all: --platform manylinux...` from
# the project's own wheel. Each step prints how long it took. Needs a running Docker engine
# (scripts/docker-setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${OPENRAFT_KV_IMAGE:-raftkv-node:local}"
DEFAULT_BASE="python:3.11-slim"
LOCAL_BASE="raftkv-base:py311-bookworm"
export DOCKER_BUILDKIT=0   # Debian's engine has no buildx; the legacy builder works.

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
step_started_ms=0
step() { step_started_ms=$(now_ms); echo "[build-image] $*"; }
done_step() { echo "[build-image]   done in $(( $(now_ms) - step_started_ms )) ms${1:+ ($1)}"; }

build_local_base() {
    if docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        echo "[build-image] local base $LOCAL_BASE already built"
        return
    fi
    step "building $LOCAL_BASE from Debian packages (apt-get download + dpkg -x)"
    local work
    work=$(mktemp -d)
    mapfile -t packages < <(grep -v -e '^#' -e '^$' deploy/base/debian-packages.txt)
    if ! (cd "$work" && apt-get download -q "${packages[@]}" >/dev/null 2>&1); then
        apt-get update -q >/dev/null
        (cd "$work" && apt-get download -q "${packages[@]}" >/dev/null)
    fi
    mkdir -p "$work/root/tmp" "$work/context"
    for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
    ln -sf python3.11 "$work/root/usr/bin/python3"
    chmod 1777 "$work/root/tmp"
    tar -C "$work/root" -cf "$work/context/rootfs.tar" .
    cp deploy/base/Dockerfile "$work/context/Dockerfile"
    docker build -q -t "$LOCAL_BASE" "$work/context" >/dev/null 2>&1
    rm -rf "$work"
    done_step "$(docker image inspect -f '{{.Size}}' "$LOCAL_BASE" | numfmt --to=iec) image"
}

choose_base() {
    if [ -n "${BASE_IMAGE:-}" ]; then echo "$BASE_IMAGE"; return; fi
    if docker image inspect "$DEFAULT_BASE" >/dev/null 2>&1; then echo "$DEFAULT_BASE"; return; fi
    if [ "${BUILD_IMAGE_PULL:-0}" = 1 ] && docker pull -q "$DEFAULT_BASE" >/dev/null 2>&1; then
        echo "$DEFAULT_BASE"; return
    fi
    build_local_base >&2
    echo "$LOCAL_BASE"
}

base_has_pip() {
    docker run --rm --entrypoint python3 "$1" -c 'import pip' >/dev/null 2>&1
}

# Fills $1/deploy/.prebuilt/site-packages with the project's wheel and its dependencies,
# as binary wheels for CPython 3.11 on x86_64 glibc (any bookworm-era manylinux tag).
prepare_site_packages() {
    local context=$1 wheels
    step "installing the project's wheel and its dependencies into a site-packages tree"
    wheels=$(mktemp -d)
    python3 -m pip wheel -q --disable-pip-version-check --no-deps -w "$wheels" . >/dev/null
    python3 -m pip install -q --disable-pip-version-check \
        --target "$context/deploy/.prebuilt/site-packages" \
        --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_34_x86_64 \
        "$(ls "$wheels"/raftkv-*.whl)[fast]"
    rm -rf "$wheels" "$context/deploy/.prebuilt/site-packages/bin"
    done_step "$(du -sh "$context/deploy/.prebuilt/site-packages" | cut -f1)"
}

main() {
    local base
    base=$(choose_base)
    context=$(mktemp -d)  # global: the EXIT trap removes it
    trap 'rm -rf "$context"' EXIT
    cp -r pyproject.toml src deploy "$context/"
    [ -f README.md ] && cp README.md "$context/"
    find "$context" -name __pycache__ -prune -exec rm -rf {} +
    rm -rf "$context/deploy/.prebuilt"
    if ! base_has_pip "$base"; then prepare_site_packages "$context"; fi
    step "building $IMAGE from deploy/Dockerfile on $base"
    docker build -q --build-arg BASE_IMAGE="$base" -t "$IMAGE" -f "$context/deploy/Dockerfile" \
        "$context" >/dev/null 2>"$context/build.err" || { cat "$context/build.err" >&2; exit 1; }
    done_step "$(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec) image"
    # The install stage and the image this build replaced are left untagged; only images
    # carrying this project's build label are pruned.
    docker image prune -f --filter label=io.raftkv.build >/dev/null
}

main
