"""Kubernetes manifests for 3 and 5 nodes, built by `kubectl kustomize` and validated
against the Kubernetes schemas by kubernetes-validate (offline: no cluster involved)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from raftkv.tf.deployer import Topology
from raftkv.tf.k8s_manifests import K8sRun, write_kustomization

#: The oldest Kubernetes release the manifests must stay valid for (kind and k3s ship newer).
KUBERNETES_VERSIONS = ["1.28.0", "1.32.0"]


def kustomize(tmp_path: Path, nodes: int) -> list[dict]:
    if shutil.which("kubectl") is None:
        pytest.fail(
            "kubectl is needed to check the kustomization (it is on every machine of this project)"
        )
    run = K8sRun(namespace="raftkv-test", image="raftkv-node:local")
    directory = write_kustomization(Topology(nodes=nodes), run, tmp_path / "manifests")
    built = subprocess.run(
        ["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True
    )
    return list(yaml.safe_load_all(built.stdout))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("nodes", [3, 5], ids=["3-nodes", "5-nodes"])
def test_manifests_are_valid_kubernetes(tmp_path: Path, nodes: int, version: str) -> None:
    objects = kustomize(tmp_path, nodes)
    assert sorted(item["kind"] for item in objects) == [
        "ConfigMap",
        "Namespace",
        "Service",
        "StatefulSet",
    ]
    for item in objects:
        kubernetes_validate.validate(item, version, strict=True)


@pytest.mark.parametrize("nodes", [3, 5], ids=["3-nodes", "5-nodes"])
def test_statefulset_gives_each_node_a_volume_probes_and_its_config(
    tmp_path: Path, nodes: int
) -> None:
    objects = {item["kind"]: item for item in kustomize(tmp_path, nodes)}
    for kind in ("ConfigMap", "Service", "StatefulSet"):
        assert objects[kind]["metadata"]["namespace"] == "raftkv-test"
    statefulset = objects["StatefulSet"]["spec"]
    assert statefulset["replicas"] == nodes
    assert statefulset["podManagementPolicy"] == "Parallel"
    assert statefulset["serviceName"] == "raftkv"
    assert [claim["metadata"]["name"] for claim in statefulset["volumeClaimTemplates"]] == ["data"]
    (container,) = statefulset["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert (
        container["livenessProbe"]["failureThreshold"] * container["livenessProbe"]["periodSeconds"]
        >= 30
    )
    assert container["command"] == ["raftkv-init", "raftkv-node"]
    assert container["args"] == ["--config", "/etc/raftkv/nodes/$(POD_NAME).yaml"]
    assert statefulset["template"]["spec"]["securityContext"]["runAsNonRoot"] is True

    service = objects["Service"]["spec"]
    assert service["clusterIP"] == "None"
    assert service["publishNotReadyAddresses"] is True

    configs = objects["ConfigMap"]["data"]
    assert sorted(configs) == [f"node-{i}.yaml" for i in range(nodes)]
    last = yaml.safe_load(configs[f"node-{nodes - 1}.yaml"])
    assert last["node_id"] == nodes - 1
    assert last["public_addr"] == f"node-{nodes - 1}.raftkv:8080"
    assert last["data_dir"] == "/var/lib/raftkv"
    assert last["peer_addrs"] == {i: f"node-{i}.raftkv:8080" for i in range(nodes - 1)}


def test_storage_class_is_optional(tmp_path: Path) -> None:
    run = K8sRun(namespace="raftkv-test", image="img", storage_class="local-path")
    directory = write_kustomization(Topology(nodes=3), run, tmp_path)
    statefulset = yaml.safe_load((directory / "statefulset.yaml").read_text())
    assert (
        statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "local-path"
    )


def test_the_validator_rejects_a_broken_statefulset(tmp_path: Path) -> None:
    """Guards the checks above: a misspelt field must fail strict validation."""
    statefulset = next(item for item in kustomize(tmp_path, 3) if item["kind"] == "StatefulSet")
    statefulset["spec"]["replica"] = statefulset["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSIONS[0], strict=True)
