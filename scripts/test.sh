#!/usr/bin/env bash
# The README's test command: installs the test extras if they are missing, then runs every
# test (unit, simulator, node integration, scenarios). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import raftkv, pytest, pytest_asyncio, hypothesis' >/dev/null 2>&1; then
    python3 -m pip install -q --disable-pip-version-check -e '.[test,fast]'
fi
export PYTHONHASHSEED=0
exec python3 -m pytest -p no:cacheprovider -q "$@"
