"""Real `raftkv-node` processes on loopback for the node tests: configs on free ports, start,
signals, and a small synchronous HTTP helper. Everything started here is killed by `stop_all`."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOKEN = "test-token"
FORWARDED = "X-Raftkv-Forwarded"
FAST_TIMINGS = {
    "heartbeat_interval_ms": 100,
    "election_timeout_min_ms": 500,
    "election_timeout_max_ms": 1000,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    addr: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    raw: bytes | None = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One HTTP request; returns (status, decoded JSON or text). Status 0: no answer."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    send_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        send_headers["Authorization"] = f"Bearer {token}"
    payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    try:
        conn.request(method, path, body=payload, headers=send_headers)
        resp = conn.getresponse()
        data = resp.read()
    except OSError:
        return 0, None
    finally:
        conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data.decode(errors="replace")


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class NodeProcess:
    node_id: int
    port: int
    workdir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    preexec: Callable[[], None] | None = None
    """Run in the child before the node starts (e.g. to lower its open-file limit)."""

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / f"node-{self.node_id}.yaml"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"node-{self.node_id}.log"

    def write_config(self, peers: dict[int, str]) -> None:
        config = {
            "node_id": self.node_id,
            "http_port": self.port,
            "public_addr": self.addr,
            "bind_host": "127.0.0.1",
            "peer_addrs": {i: a for i, a in peers.items() if i != self.node_id},
            **FAST_TIMINGS,
            **self.settings,
        }
        self.config_path.write_text(yaml.safe_dump(config))

    def start(self, wait: bool = True) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "raftkv.node.main", "--config", str(self.config_path)],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=self.preexec,
        )
        log.close()
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 15.0) -> None:
        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.node_id} exited: {self.tail_log()}")
            return call(self.addr, "GET", "/healthz", timeout=1.0)[0] == 200

        wait_for(healthy, timeout, f"node {self.node_id} /healthz")

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait_exit(5.0)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def tail_log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def state(self) -> dict[str, Any]:
        status, body = call(self.addr, "GET", "/state?kv=false", timeout=2.0)
        return body if status == 200 else {}

    def kv(self) -> dict[str, str]:
        status, body = call(self.addr, "GET", "/state", timeout=5.0)
        return body.get("kv", {}) if status == 200 else {}


@dataclass
class Cluster:
    nodes: list[NodeProcess]
    token: str | None = None

    def node(self, node_id: int) -> NodeProcess:
        return self.nodes[node_id]

    def start_all(self) -> None:
        """Start every node at once (the imports overlap), then wait for each."""
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_healthy()

    def admin(self, node: NodeProcess, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return call(node.addr, "POST", path, body, token=self.token, **kw)

    def form(self) -> None:
        """The reference workload: init 0, add learners 1 and 2, voters {0,1,2}."""
        first = self.nodes[0]
        assert self.admin(first, "/admin/init") == (200, {"Ok": None})
        for node in self.nodes[1:]:
            body = {"node_id": node.node_id, "addr": node.addr}
            status, answer = self.admin(first, "/admin/add-learner", body)
            assert status == 200, answer
        voters = [n.node_id for n in self.nodes]
        status, answer = self.admin(first, "/admin/change-membership", {"voters": voters})
        assert status == 200, answer

    def leader(self, timeout: float = 10.0, exclude: int | None = None) -> NodeProcess:
        def find() -> NodeProcess | None:
            for node in self.nodes:
                if node.node_id == exclude or node.proc is None or node.proc.poll() is not None:
                    continue
                if node.state().get("role") == "Leader":
                    return node
            return None

        found: NodeProcess = wait_for(find, timeout, "a leader")
        return found

    def followers(self, leader: NodeProcess) -> list[NodeProcess]:
        return [n for n in self.nodes if n is not leader]

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait(5)


@contextmanager
def running_cluster(
    workdir: Path, size: int, *, token: str | None = None, **settings: Any
) -> Iterator[Cluster]:
    """A formed cluster (init, learners, voters {0..size-1}), killed on exit."""
    cluster = make_cluster(workdir, size, token=token, **settings)
    try:
        cluster.start_all()
        cluster.form()
        yield cluster
    finally:
        cluster.stop_all()


def make_cluster(workdir: Path, size: int, *, token: str | None = None, **settings: Any) -> Cluster:
    if token is not None:
        settings["auth_token"] = token
    nodes = [NodeProcess(i, free_port(), workdir, dict(settings)) for i in range(size)]
    peers = {n.node_id: n.addr for n in nodes}
    for node in nodes:
        node.write_config(peers)
    return Cluster(nodes, token)


def write(addr: str, key: str, value: str, serial: int, client_id: str = "t") -> tuple[int, Any]:
    body = {"key": key, "value": value, "serial": serial, "client_id": client_id}
    return call(addr, "POST", "/kv/write", body)
