"""`raftkv-tf k8s_failover` where no cluster can run: one SKIP line and exit 0, or exit 1
when K8S_RUNNER_REQUIRE_CLUSTER=1. (The orchestration itself is tested against a fake
kubectl in test_k8s_deployer.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from raftkv.examples.k8s_failover import main as k8s_failover


@pytest.fixture(autouse=True)
def no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("RAFTKV_KUBECTL", raising=False)


def test_no_cluster_prints_one_skip_line_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("K8S_RUNNER_REQUIRE_CLUSTER", raising=False)
    assert k8s_failover(["--seed", "1"]) == 0
    assert capsys.readouterr().out == (
        "SKIP k8s_failover: no Kubernetes cluster reachable: "
        "kubectl has no current context (no kubeconfig for a cluster)\n"
    )


def test_required_cluster_makes_the_skip_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("K8S_RUNNER_REQUIRE_CLUSTER", "1")
    assert k8s_failover(["--seed", "1"]) == 1
    output = capsys.readouterr().out
    assert output.startswith("FAIL k8s_failover: ")
    assert "K8S_RUNNER_REQUIRE_CLUSTER=1 but no Kubernetes cluster is reachable" in output
    assert len(output.splitlines()) == 1
