"""Deploying without the framework: `raftkv-tf render` writes compose files and Kubernetes
manifests a user applies as they are, `raftkv cluster form` forms the cluster from the
command line; on the real Docker engine: render, up, form, write and read, down."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from docker_support import require_docker_and_image

from raftkv.tf import cli
from raftkv.tf.deployer import Topology
from raftkv.tf.local import LocalDeployer

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def render(*args: str) -> None:
    assert cli.main(["render", *args]) == 0


def test_compose_files_name_their_configs_relative_to_themselves(tmp_path: Path) -> None:
    render("--deployer", "compose", "--nodes", "3", "--out", str(tmp_path), "--base-port", "19000")
    document = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    for i in range(3):
        service = document["services"][f"node-{i}"]
        assert service["ports"] == [f"127.0.0.1:{19000 + i}:8080"]
        assert service["volumes"][0] == f"./node-{i}.yaml:/etc/raftkv/config.yaml:ro"
        config = yaml.safe_load((tmp_path / f"node-{i}.yaml").read_text())
        assert config["node_id"] == i and config["public_addr"] == f"node-{i}:8080"


@pytest.mark.parametrize("namespace", [None, "team-a"])
def test_kubernetes_manifests_work_in_any_namespace(tmp_path: Path, namespace: str | None) -> None:
    extra = ["--namespace", namespace] if namespace else []
    render("--deployer", "k8s", "--nodes", "3", "--out", str(tmp_path), *extra)
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=False
    )
    if built.returncode != 0 and "not found" in built.stderr:
        pytest.skip("no kubectl")
    assert built.returncode == 0, built.stderr
    objects = list(yaml.safe_load_all(built.stdout))
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        ["ConfigMap", "Service", "StatefulSet", *(["Namespace"] if namespace else [])]
    )
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    for i in range(3):
        config = yaml.safe_load(configmap["data"][f"node-{i}.yaml"])
        assert config["public_addr"] == f"node-{i}.raftkv:8080"
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert namespaces == {namespace}


async def raftkv(*args: str, timeout: float = 90) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "raftkv.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=ENV,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_cluster_form_on_local_nodes() -> None:
    async with LocalDeployer() as deployer:
        endpoints = await deployer.deploy(Topology(3))
        addrs = ",".join(e.api_addr for e in endpoints)
        code, out = await raftkv("cluster", "form", "--nodes", addrs)
        assert code == 0, out
        assert "formed: voters [0, 1, 2]" in out and out.count("added as a learner") == 2
        code, out = await raftkv("--nodes", addrs, "cluster", "form")
        assert code == 0 and "already formed: voters [0, 1, 2]" in out, out
        code, out = await raftkv("--nodes", addrs, "put", "k", "v")
        assert code == 0, out
        code, out = await raftkv("--nodes", endpoints[2].api_addr, "get", "k", "--linearizable")
        assert code == 0 and out.strip() == "v", out


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for base in range(21000, 29000, count + 7):
        probes = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise AssertionError("no run of free ports")


def compose(directory: Path, project: str, *args: str) -> str:
    done = subprocess.run(
        ["docker", "compose", "-f", str(directory / "compose.yaml"), "-p", project, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.docker
@pytest.mark.timeout(300)
def test_render_up_form_write_read_down_on_docker(tmp_path: Path) -> None:
    image = require_docker_and_image("the rendered compose files")
    project = f"raftkv-render-{uuid.uuid4().hex[:8]}"
    base = free_port_run(3)
    render(
        "--deployer", "compose", "--nodes", "3", "--out", str(tmp_path), "--image", image,
        "--name", project, "--base-port", str(base),
    )  # fmt: skip
    addrs = ",".join(f"127.0.0.1:{base + i}" for i in range(3))
    compose(tmp_path, project, "up", "-d")
    try:
        code, out = asyncio.run(raftkv("cluster", "form", "--nodes", addrs))
        assert code == 0, out
        code, out = asyncio.run(raftkv("--nodes", addrs, "put", "colour", "blue"))
        assert code == 0, out
        reader = f"127.0.0.1:{base + 2}"
        code, out = asyncio.run(raftkv("--nodes", reader, "get", "colour", "--linearizable"))
        assert (code, out.strip()) == (0, "blue"), out
        code, out = asyncio.run(raftkv("--nodes", addrs, "status"))
        assert code == 0 and out.count("Leader") == 1, out
    finally:
        compose(tmp_path, project, "down", "-v", "--timeout", "5")
    leftover = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert leftover.stdout.strip() == ""
