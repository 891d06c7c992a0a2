"""Start-up refusals: a config or data directory the node cannot use exits 2 with one line
naming the field, before anything listens."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from node_harness import call, free_port, wait_for

from raftkv.storage import DurableStore, load_or_create_identity

BASE = {"node_id": 0, "http_port": 18080, "public_addr": "127.0.0.1:18080"}


def write_config(tmp_path: Path, config: dict[str, object]) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_node(config_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "raftkv.node.main", "--config", str(config_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad-field", "http_port:"),
        ("missing-file", "config:"),
        ("identity", "node_id:"),
        ("data-dir-is-a-file", "data_dir:"),
        ("data-dir-in-use", "data_dir:"),
        ("log-level-env", "RAFTKV_LOG:"),
        ("port-in-use", "http_port:"),
    ],
)
def test_node_exits_2_with_one_line(tmp_path: Path, case: str, field: str) -> None:
    config = {**BASE, "data_dir": str(tmp_path / "data")}
    if case == "bad-field":
        config["http_port"] = 123456
    if case == "identity":
        load_or_create_identity(tmp_path / "data", node_id=5)
    if case == "data-dir-is-a-file":
        (tmp_path / "data").write_text("not a directory")
    path = write_config(tmp_path, config)
    if case == "missing-file":
        path = tmp_path / "absent.yaml"
    env = {**os.environ, "RAFTKV_LOG": "chatty" if case == "log-level-env" else "info"}
    if case == "port-in-use":
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            config.update(http_port=port, public_addr=f"127.0.0.1:{port}", bind_host="127.0.0.1")
            result = run_node(write_config(tmp_path, config), env)
    elif case == "data-dir-in-use":
        holder = DurableStore.open(tmp_path / "data")  # another node runs on this directory
        try:
            result = run_node(path, env)
        finally:
            asyncio.run(holder.close())
    else:
        result = run_node(path, env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"raftkv-node: {field}"), result.stderr


def test_json_logs_and_a_clean_exit_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = {
        **BASE,
        "http_port": port,
        "public_addr": f"127.0.0.1:{port}",
        "bind_host": "127.0.0.1",
    }
    path = write_config(tmp_path, config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "raftkv.node.main", "--config", str(path), "--log-format", "json"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: call(f"127.0.0.1:{port}", "GET", "/healthz")[0] == 200, 15, "healthz")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=2.5)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stderr.splitlines()]
    messages = [e["msg"] for e in events]
    assert "node started" in messages and messages[-1] == "stopped"
    started = events[messages.index("node started")]
    assert started["node_id"] == 0 and started["level"] == "info"
