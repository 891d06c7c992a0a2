"""A fake node for deployer and runner tests: takes `--config PATH` like raftkv-node, serves
`/healthz` and a pristine `/state` on the configured bind host and port, and nothing else.

Behaviours for tests, from the config's extra fields:
- `fake_exit_at_start: true`: print a line and exit 3 before serving;
- `fake_ignore_sigterm: true`: ignore SIGTERM (a graceful stop must escalate to SIGKILL);
- `fake_child: true`: spawn a sleeping child in the same process group.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from aiohttp import web


def state_handler(config: dict[str, object]):
    async def state(request: web.Request) -> web.Response:
        body = {
            "node_id": config["node_id"],
            "public_addr": config["public_addr"],
            "role": "Learner",
            "current_leader": None,
            "current_term": 0,
            "last_log_index": 0,
            "last_applied_index": 0,
            "voters": [],
            "kv": {} if request.query.get("kv") != "false" else None,
        }
        return web.json_response(body)

    return state


async def serve(config: dict[str, object]) -> None:
    app = web.Application()
    app.router.add_get("/healthz", lambda request: web.Response(text="ok"))
    app.router.add_get("/state", state_handler(config))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, str(config["bind_host"]), int(config["http_port"])).start()
    stop = asyncio.Event()
    if not config.get("fake_ignore_sigterm"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"fake node {config['node_id']} serving", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    config = yaml.safe_load(parser.parse_args().config.read_text())
    print("config " + json.dumps(config), flush=True)
    if config.get("fake_exit_at_start"):
        print("fake node refuses to start", flush=True)
        return 3
    if config.get("fake_ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if config.get("fake_child"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(f"child pid {child.pid}", flush=True)
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
