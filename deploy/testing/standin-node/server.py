"""STAND-IN for the raftkv node, used only by tests/tf/test_compose_deployer.py (built there).

It checks the compose plumbing (ports, config mount, volume, service DNS, faults) without
depending on the real node: GET /healthz answers ok; GET /state reports the mounted config
and how many times this container's data volume has seen a start; GET /peer/<name> fetches
another service's /healthz by its DNS name. A config line `standin_exit_at_start: true`
makes it exit at once.
"""

import json
import signal
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = Path("/etc/raftkv/config.yaml")
BOOTS = Path("/var/lib/raftkv/boots")


def count_boot() -> int:
    boots = int(BOOTS.read_text()) + 1 if BOOTS.exists() else 1
    BOOTS.write_text(str(boots))
    return boots


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.reply(200, "ok")
        elif self.path == "/state":
            self.reply(200, json.dumps({"config": CONFIG.read_text(), "boots": BOOTS_AT_START}))
        elif self.path.startswith("/peer/"):
            self.reply(200, self.fetch_peer(self.path.removeprefix("/peer/")))
        else:
            self.reply(404, "no such path")

    def fetch_peer(self, name: str) -> str:
        try:
            with urllib.request.urlopen(f"http://{name}:8080/healthz", timeout=1) as response:
                return response.read().decode()
        except OSError as error:
            return f"unreachable: {error}"

    def reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


if "standin_exit_at_start: true" in CONFIG.read_text():
    # Lets a test check how the deployer reports a node that dies while starting.
    sys.exit("stand-in told to exit at start by its config")
BOOTS_AT_START = count_boot()
server = ThreadingHTTPServer(("0.0.0.0", 8080), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"stand-in listening, boot {BOOTS_AT_START}", flush=True)
server.serve_forever()
