"""FAKE kubectl for tests/tf/test_k8s_deployer.py: no cluster is involved.

It implements just the kubectl calls the k8s deployer makes, over a pretend cluster kept
in $FAKE_KUBECTL_DIR/state.json, and appends every call's argv to calls.jsonl so a test can
check the exact orchestration. Pods become Ready a moment after they are created,
deleted or have their container killed; `port-forward` serves /healthz on the local port
(503 while the pod is not Ready) and exits, as kubectl does, when its pod goes away or its
container restarts. FAKE_KUBECTL_CLUSTER=none|down pretends there is no kubeconfig or no
answering API server; FAKE_KUBECTL_FORWARD_FAILURES=N makes the first N port-forwards fail. A forced delete is refused, so a test notices one.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import yaml

STATE_DIR = Path(os.environ.get("FAKE_KUBECTL_DIR", "."))
STARTUP_SECONDS = 0.3


@contextmanager
def cluster() -> Iterator[dict[str, Any]]:
    """The pretend cluster's state, locked for one read-modify-write.

    The new state replaces the file in one rename: the deployer kills port-forward processes
    (which read the state every 50 ms), and a kill in the middle of a plain write would leave
    a truncated file that every later call fails to read."""
    with open(STATE_DIR / "state.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = STATE_DIR / "state.json"
        before = path.read_text() if path.exists() else '{"pods": {}}'
        state = json.loads(before)
        yield state
        after = json.dumps(state)
        if after != before:
            staged = path.with_suffix(".tmp")
            staged.write_text(after)
            os.replace(staged, path)


def fresh_pod(restarts: int = 0) -> dict[str, Any]:
    return {
        "uid": uuid.uuid4().hex,
        "restarts": restarts,
        "ready_at": time.time() + STARTUP_SECONDS,
    }


def pod_json(pod: dict[str, Any]) -> dict[str, Any]:
    ready = "True" if time.time() >= pod["ready_at"] else "False"
    return {
        "metadata": {"uid": pod["uid"]},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "containerStatuses": [{"name": "node", "restartCount": pod["restarts"]}],
        },
    }


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def config(args: list[str]) -> None:
    if os.environ.get("FAKE_KUBECTL_CLUSTER") == "none":
        fail("error: current-context is not set")
    print("fake-cluster")


def get(args: list[str]) -> None:
    if args[0].startswith("--raw"):
        if os.environ.get("FAKE_KUBECTL_CLUSTER") == "down":
            fail(
                "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
            )
        print("ok")
        return
    with cluster() as state:
        pod = state["pods"].get(args[1])
    if pod is None:
        fail(f'Error from server (NotFound): pods "{args[1]}" not found')
    print(json.dumps(pod_json(pod)))


def apply(args: list[str]) -> None:
    statefulset = yaml.safe_load((Path(args[1]) / "statefulset.yaml").read_text())
    with cluster() as state:
        for ordinal in range(statefulset["spec"]["replicas"]):
            state["pods"][f"node-{ordinal}"] = fresh_pod()
    print("statefulset.apps/node created")


def delete(args: list[str]) -> None:
    if any(arg in ("--force", "--grace-period=0") for arg in args):
        fail("FAKE kubectl refuses a forced delete: it can leave two writers on one volume", 2)
    if args[0] == "pod":
        time.sleep(0.1)  # the grace period
        with cluster() as state:
            state["pods"][args[1]] = fresh_pod()
    print(f'{args[0]} "{args[1]}" deleted')


def exec_(args: list[str]) -> None:
    with cluster() as state:
        pod = state["pods"][args[0]]
        state["pods"][args[0]] = {**fresh_pod(pod["restarts"] + 1), "uid": pod["uid"]}


def logs(args: list[str]) -> None:
    with cluster() as state:
        pod = state["pods"][args[0]]
    if "--previous" in args and pod["restarts"] == 0:
        fail(f'previous terminated container "node" in pod "{args[0]}" not found')
    print(f"FAKE log of {args[0]}{' (previous container)' if '--previous' in args else ''}")


def port_forward(args: list[str]) -> None:
    pod_name = args[args.index("--address") + 2].removeprefix("pod/")
    local_port = int(args[-1].split(":")[0])
    with cluster() as state:
        watched = dict(state["pods"][pod_name])
        failures_left = state.get(
            "forward_failures", int(os.environ.get("FAKE_KUBECTL_FORWARD_FAILURES", "0"))
        )
        state["forward_failures"] = max(failures_left - 1, 0)
    if failures_left > 0:
        fail("error: unable to forward port because pod is not running. Current status=Pending")

    def current() -> dict[str, Any]:
        with cluster() as state:
            return dict(state["pods"][pod_name])

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = time.time() >= current()["ready_at"]
            self.send_response(200 if ready and self.path == "/healthz" else 503)
            self.end_headers()
            self.wfile.write(b"ok" if ready else b"starting")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", local_port), Healthz)
    print(f"Forwarding from 127.0.0.1:{local_port} -> 8080", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        now = current()
        if now["uid"] != watched["uid"] or now["restarts"] != watched["restarts"]:
            fail("error: lost connection to pod")
        time.sleep(0.05)


COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "config": config,
    "get": get,
    "apply": apply,
    "delete": delete,
    "exec": exec_,
    "port-forward": port_forward,
    "logs": logs,
}


def main() -> None:
    argv = sys.argv[1:]
    with open(STATE_DIR / "calls.jsonl", "a") as calls:
        calls.write(json.dumps(argv) + "\n")
    args = list(argv)
    if "-n" in args:  # the namespace flag may stand anywhere; the fake has one namespace
        del args[args.index("-n") : args.index("-n") + 2]
    COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    main()
