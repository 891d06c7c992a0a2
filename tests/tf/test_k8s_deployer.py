"""The k8s deployer's orchestration against a FAKE kubectl (deploy/testing/fake_kubectl.py),
plus the no-cluster skip and the required-cluster failure. No real cluster can run here."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftkv.tf.compose_project import free_loopback_ports
from raftkv.tf.deployer import Topology
from raftkv.tf.k8s_deployer import K8sDeployer, cluster_problem, configured_image

FAKE_KUBECTL = Path(__file__).parents[2] / "deploy" / "testing" / "fake_kubectl.py"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    state = tmp_path / "fake-cluster"
    state.mkdir()
    monkeypatch.setenv("FAKE_KUBECTL_DIR", str(state))
    yield [sys.executable, str(FAKE_KUBECTL)]


def calls(tmp_path: Path) -> list[list[str]]:
    lines = (tmp_path / "fake-cluster" / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def verbs(tmp_path: Path, skip: tuple[str, ...] = ("get", "port-forward")) -> list[str]:
    """The mutating kubectl calls, in order, as 'verb target' strings."""
    result = []
    for argv in calls(tmp_path):
        args = [arg for arg in argv if arg not in ("-n", "raftkv-fake")]
        if args[0] not in skip:
            result.append(" ".join(args[:2]))
    return result


def deployer(fake_kubectl: list[str], tmp_path: Path, preserve: bool = False) -> K8sDeployer:
    return K8sDeployer(
        image="raftkv-node:test",
        namespace="raftkv-fake",
        run_dir=tmp_path / "manifests",
        kubectl=fake_kubectl,
        ready_timeout=20,
        preserve=preserve,
    )


async def test_deploy_restart_modes_and_cleanup(fake_kubectl: list[str], tmp_path: Path) -> None:
    async with deployer(fake_kubectl, tmp_path) as k8s:
        endpoints = await k8s.deploy(Topology(nodes=3))
        assert [e.public_addr for e in endpoints] == [f"node-{i}.raftkv:8080" for i in range(3)]
        addresses = [e.api_addr for e in endpoints]
        await k8s.restart_node("node-1", "graceful")
        await k8s.restart_node("node-2", "kill")
        assert [k8s.endpoint(e.name).api_addr for e in endpoints] == addresses
    assert verbs(tmp_path) == [
        "apply -k",
        "delete pod",
        "exec node-2",
        "delete namespace",
    ]
    every_call = calls(tmp_path)
    (kill,) = [argv for argv in every_call if "exec" in argv]
    assert kill[kill.index("--") + 1 :] == [
        "python3",
        "-c",
        "import os, signal; os.kill(-1, signal.SIGKILL)",
    ]
    (graceful,) = [argv for argv in every_call if "delete" in argv and "pod" in argv]
    assert "--force" not in graceful and "--grace-period=0" not in graceful
    forwards = [argv for argv in every_call if "port-forward" in argv]
    # One forward per node at deploy, then one more for each restarted node, on the same port.
    assert sorted(argv[-2] for argv in forwards) == [
        "pod/node-0",
        "pod/node-1",
        "pod/node-1",
        "pod/node-2",
        "pod/node-2",
    ]
    assert {argv[-1] for argv in forwards if argv[-2] == "pod/node-1"} == {
        addresses[1].split(":")[1] + ":8080"
    }


async def test_a_failing_port_forward_is_retried(
    fake_kubectl: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_FORWARD_FAILURES", "2")
    async with deployer(fake_kubectl, tmp_path) as k8s:
        await k8s.deploy(Topology(nodes=1))
    forwards = [argv for argv in calls(tmp_path) if "port-forward" in argv]
    assert len(forwards) == 3


async def test_preserve_keeps_the_namespace(
    fake_kubectl: list[str], tmp_path: Path, capsys
) -> None:
    async with deployer(fake_kubectl, tmp_path, preserve=True) as k8s:
        await k8s.deploy(Topology(nodes=1))
    assert verbs(tmp_path) == ["apply -k"]
    assert "kubectl delete namespace raftkv-fake" in capsys.readouterr().out


async def test_cluster_problem_names_why(
    fake_kubectl: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await cluster_problem(fake_kubectl) is None
    monkeypatch.setenv("FAKE_KUBECTL_CLUSTER", "down")
    assert "was refused" in (await cluster_problem(fake_kubectl) or "")
    monkeypatch.setenv("FAKE_KUBECTL_CLUSTER", "none")
    assert "no current context" in (await cluster_problem(fake_kubectl) or "")
    assert "not installed" in (await cluster_problem(["kubectl-that-does-not-exist"]) or "")


async def test_a_failed_run_keeps_pod_logs(fake_kubectl: list[str], tmp_path: Path) -> None:
    async with deployer(fake_kubectl, tmp_path) as k8s:
        await k8s.deploy(Topology(nodes=2))
        await k8s.restart_node("node-1", "kill")
        k8s.keep_artifacts()
    logs = tmp_path / "manifests"
    assert (logs / "node-0.log").read_text() == "FAKE log of node-0\n"
    assert not (logs / "node-0.previous.log").exists()
    assert (logs / "node-1.previous.log").read_text() == "FAKE log of node-1 (previous container)\n"
    assert verbs(tmp_path, skip=("get", "port-forward", "logs"))[-1] == "delete namespace"


async def test_own_run_dir_goes_after_a_passing_run(
    fake_kubectl: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_KEEP_LOGS", raising=False)
    k8s = K8sDeployer(namespace="raftkv-fake", kubectl=fake_kubectl, ready_timeout=20)
    async with k8s:
        await k8s.deploy(Topology(nodes=1))
        assert (k8s.run_dir / "kustomization.yaml").exists()
    assert not k8s.run_dir.exists()


def test_image_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENRAFT_KV_K8S_IMAGE", raising=False)
    monkeypatch.delenv("OPENRAFT_KV_IMAGE", raising=False)
    assert configured_image() == "raftkv-node:local"
    monkeypatch.setenv("OPENRAFT_KV_IMAGE", "shared:1")
    assert configured_image() == "shared:1"
    monkeypatch.setenv("OPENRAFT_KV_K8S_IMAGE", "k8s-only:2")
    assert configured_image() == "k8s-only:2"


UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:{port}"}}]
users: [{name: nobody, user: {token: none}}]
contexts: [{name: gone, context: {cluster: gone, user: nobody}}]
current-context: gone
"""


async def test_real_kubectl_without_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real kubectl, with no kubeconfig and then with one whose API server is a closed
    loopback port: both are reported as one line, without waiting long."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is on every machine of this project")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert (
        await cluster_problem(["kubectl"])
        == "kubectl has no current context (no kubeconfig for a cluster)"
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG.replace("{port}", str(free_loopback_ports(1)[0])))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    problem = await cluster_problem(["kubectl"], timeout=5)
    assert problem is not None and problem.startswith("cluster gone does not answer:")
    assert "was refused" in problem
