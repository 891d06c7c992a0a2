"""Drop-in use next to the reference: a pristine reference node's `/state` (null indexes)
through the client, `raftkv status`, the observer and the invariants; the reference's
environment variables with the values it accepts."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from tf_fakes import serve_routes

from raftkv.client import NodeClient
from raftkv.tf import env
from raftkv.tf.compose_deployer import ComposeDeployer
from raftkv.tf.deployer import Topology
from raftkv.tf.invariants import InvariantChecker
from raftkv.tf.k8s_deployer import K8sDeployer
from raftkv.tf.observer import Observer
from raftkv.tf.replicas import converged
from raftkv.tf.writes import WriteLog

REPO = Path(__file__).resolve().parents[2]


def pristine_reference_state(node_id: int, addr: str) -> dict[str, object]:
    """What a reference node answers before /admin/init: no log, nothing applied."""
    return {
        "node_id": node_id,
        "public_addr": addr,
        "role": "Learner",
        "current_leader": None,
        "current_term": 0,
        "last_log_index": None,
        "last_applied_index": None,
        "voters": [],
        "kv": {},
    }


@pytest.fixture
async def reference_node() -> AsyncIterator[str]:
    addr_box: list[str] = []

    async def state(request: web.Request) -> web.Response:
        return web.json_response(pristine_reference_state(0, addr_box[0]))

    runner, port = await serve_routes({"/state": state})
    addr_box.append(f"127.0.0.1:{port}")
    yield addr_box[0]
    await runner.cleanup()


async def test_the_client_decodes_null_indexes(reference_node: str) -> None:
    async with NodeClient(reference_node) as client:
        state = await client.state()
    assert state.last_log_index is None and state.last_applied_index is None
    assert state.role == "Learner" and state.kv == {}


async def test_raftkv_status_shows_a_pristine_reference_node(reference_node: str) -> None:
    # A subprocess of its own, the event loop free to serve the node meanwhile.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "raftkv.cli",
        "--nodes",
        reference_node,
        "status",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    row = next(line for line in out.decode().splitlines() if reference_node in line)
    assert "Learner" in row and " - " in row, row


async def test_observer_and_invariants_take_null_indexes(reference_node: str) -> None:
    client = NodeClient(reference_node)
    checker = InvariantChecker(WriteLog(), 0.0)
    observer = Observer(["node-0"], lambda name: client, interval=0.02)
    observer.listen(checker.observe)
    async with observer:
        await observer.wait_for(_seen, 5, "an observation")
    await client.close()
    assert checker.observed >= 1 and checker.violation is None
    outcome = converged(observer.view())
    assert outcome.value is None and "applied nothing yet" in (outcome.pending or "")


def _seen(view):
    from raftkv.tf.agreement import Outcome

    return Outcome(value=True) if all(view.values()) else Outcome(pending="waiting")


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
        ("2", False),
    ],
)
def test_switches_take_1_true_yes(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("TF_KEEP_LOGS", value)
    assert env.flag("TF_KEEP_LOGS") is on


def test_slow_test_env_doubles_timeouts_and_bad_seconds_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert env.adjust_timeout(30) == 30
    monkeypatch.setenv("SLOW_TEST_ENV", "true")
    assert env.adjust_timeout(30) == 60
    monkeypatch.setenv("K8S_RUNNER_HTTP_TIMEOUT_SECS", "soon")
    with pytest.raises(env.BadEnvironment, match="K8S_RUNNER_HTTP_TIMEOUT_SECS='soon'"):
        env.seconds("K8S_RUNNER_HTTP_TIMEOUT_SECS", 5)


def set_all(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_compose_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_all(
        monkeypatch,
        TESTNET_RUNNER_PRESERVE="yes",
        TF_KEEP_LOGS="true",
        COMPOSE_RUNNER_HTTP_TIMEOUT_SECS="40",
        SLOW_TEST_ENV="yes",
        COMPOSE_RUNNER_HOST="10.1.2.3",
    )
    deployer = ComposeDeployer(project_name="raftkv-env", run_dir=tmp_path)
    assert deployer.preserve and deployer.keep_run_dir and deployer.ready_timeout == 80
    from raftkv.tf.compose_deployer import publish_host
    from raftkv.tf.compose_project import render_project

    project = render_project(Topology(2), "raftkv-env", "img", tmp_path, publish_host("10.1.2.3"))
    deployer._project = project
    ports = yaml.safe_load(project.compose_file.read_text())["services"]["node-0"]["ports"]
    assert ports == [f"{project.host_ports['node-0']}:8080"], "every address, for a remote host"
    assert deployer.endpoint("node-0").api_addr.startswith("10.1.2.3:")
    assert publish_host("127.0.0.1") == "127.0.0.1" and publish_host("localhost") == "127.0.0.1"


def test_kubernetes_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_all(
        monkeypatch,
        K8S_RUNNER_PRESERVE="true",
        K8S_RUNNER_DEPLOYMENT_TIMEOUT_SECS="200",
        K8S_RUNNER_HTTP_TIMEOUT_SECS="50",
        K8S_RUNNER_HTTP_PROBE_TIMEOUT_SECS="3",
        K8S_RUNNER_DEBUG="1",
        K8S_RUNNER_NAMESPACE="pinned-ns",
    )
    k8s = K8sDeployer(run_dir=tmp_path, kubectl=["true"])
    assert k8s.preserve and k8s.debug and k8s.run.namespace == "pinned-ns"
    assert (k8s.ready_timeout, k8s.http_timeout, k8s.probe_timeout) == (200, 50, 3)


async def test_k8s_debug_prints_each_kubectl_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("K8S_RUNNER_DEBUG", "yes")
    k8s = K8sDeployer(run_dir=tmp_path, kubectl=[sys.executable, "-c", "print('hello')"])
    await k8s._kubectl("get", "pods")
    err = capsys.readouterr().err
    assert "[k8s debug] $ " in err and "get pods" in err and "hello" in err
