#!/usr/bin/env bash
# The README's first command: installs raftkv if it is missing, then runs the basic_failover
# scenario (three local nodes, leader restart, convergence check). Extra arguments go to the
# scenario, e.g. --restart-mode kill, --seed N, --json report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import raftkv.tf, aiohttp, msgspec' >/dev/null 2>&1 || ! command -v raftkv-tf >/dev/null 2>&1; then
    echo "installing raftkv (pip install -e '.[fast]') ..."
    python3 -m pip install -q --disable-pip-version-check -e '.[fast]'
fi
exec raftkv-tf basic_failover "$@"
