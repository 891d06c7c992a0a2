"""Kubernetes manifests of one TF run, as a kustomize directory.

A StatefulSet named `node` gives pods `node-0`, `node-1`, ... (the TF's node names); a
headless Service `raftkv` gives them stable peer names `node-<i>.raftkv`, which resolve in
whatever namespace the files are applied to (the pods' DNS search path adds it), so the same
files work in any namespace; they are published before the pods are ready (`publishNotReadyAddresses`), because a node must be
reachable by peers before it can become ready. One ConfigMap holds each node's config under
`node-<i>.yaml`; a pod reads its own through `$(POD_NAME)`. Each pod gets a
PersistentVolumeClaim for its data, readiness and (lenient) liveness probes on `/healthz`.
The node runs under `raftkv-init` so that `kubectl exec` can crash-kill it (see
deploy/image/bin/raftkv-init). Rendering is pure; `write_kustomization` writes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .compose_project import NODE_DATA_DIR, NODE_PORT, node_config_document
from .deployer import Topology

SERVICE = "raftkv"
STATEFULSET = "node"
CONFIGMAP = "raftkv-node-config"
CONTAINER = "node"
NODE_UID = 10001
#: Seconds a deleted pod gets between SIGTERM and SIGKILL (graceful restart).
TERMINATION_GRACE_SECONDS = 10
Manifest = dict[str, object]


@dataclass(frozen=True, slots=True)
class K8sRun:
    """What varies between runs: the namespace, the image and the volume size."""

    namespace: str | None
    """None: the files name no namespace (`kubectl apply -k DIR -n NS` picks one)."""
    image: str
    storage: str = "256Mi"
    storage_class: str | None = None
    image_pull_policy: str = "IfNotPresent"


def public_addr(node: str) -> str:
    """A node's peer address: the same in every namespace."""
    return f"{node}.{SERVICE}:{NODE_PORT}"


def labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": "raftkv", "app.kubernetes.io/component": "node"}


def namespace_manifest(run: K8sRun) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": run.namespace, "labels": {"app.kubernetes.io/part-of": "raftkv-tf"}},
    }


def service_manifest() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "labels": labels()},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": labels(),
            "ports": [{"name": "http", "port": NODE_PORT, "targetPort": "http"}],
        },
    }


def configmap_manifest(topology: Topology, run: K8sRun) -> Manifest:
    names = topology.names()
    public_addrs = {i: public_addr(node) for i, node in enumerate(names)}
    data = {}
    for node_id, node in enumerate(names):
        config = node_config_document(node_id, public_addrs, topology.settings)
        data[f"{node}.yaml"] = yaml.safe_dump(config, sort_keys=False)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "labels": labels()},
        "data": data,
    }


def probe(period_seconds: int, failure_threshold: int, initial_delay_seconds: int) -> Manifest:
    return {
        "httpGet": {"path": "/healthz", "port": "http"},
        "periodSeconds": period_seconds,
        "timeoutSeconds": 2,
        "failureThreshold": failure_threshold,
        "initialDelaySeconds": initial_delay_seconds,
    }


def container_manifest(run: K8sRun) -> Manifest:
    return {
        "name": CONTAINER,
        "image": run.image,
        "imagePullPolicy": run.image_pull_policy,
        "command": ["raftkv-init", "raftkv-node"],
        "args": ["--config", "/etc/raftkv/nodes/$(POD_NAME).yaml"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "http", "containerPort": NODE_PORT}],
        "readinessProbe": probe(period_seconds=1, failure_threshold=3, initial_delay_seconds=0),
        # Lenient: a node busy recovering or electing must not be restarted by its probe.
        "livenessProbe": probe(period_seconds=5, failure_threshold=6, initial_delay_seconds=10),
        "volumeMounts": [
            {"name": "data", "mountPath": NODE_DATA_DIR},
            {"name": "config", "mountPath": "/etc/raftkv/nodes", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }


def statefulset_manifest(topology: Topology, run: K8sRun) -> Manifest:
    claim_spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": run.storage}},
    }
    if run.storage_class:
        claim_spec["storageClassName"] = run.storage_class
    pod_spec = {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NODE_UID,
            "runAsGroup": NODE_UID,
            "fsGroup": NODE_UID,
        },
        "containers": [container_manifest(run)],
        "volumes": [
            {"name": "config", "configMap": {"name": CONFIGMAP}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": STATEFULSET, "labels": labels()},
        "spec": {
            "serviceName": SERVICE,
            "replicas": topology.nodes,
            # All pods at once: node 0 must not wait for the others to be ready, nor they for it.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels()},
            "template": {"metadata": {"labels": labels()}, "spec": pod_spec},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim_spec}],
        },
    }


def render_manifests(topology: Topology, run: K8sRun) -> dict[str, Manifest]:
    """File name -> manifest, for every object of the run (namespaced ones without a
    namespace: the kustomization sets it)."""
    if topology.nodes < 1:
        raise ValueError(f"a topology needs at least one node, got {topology.nodes}")
    namespace = {"namespace.yaml": namespace_manifest(run)} if run.namespace else {}
    return {
        **namespace,
        "service.yaml": service_manifest(),
        "configmap.yaml": configmap_manifest(topology, run),
        "statefulset.yaml": statefulset_manifest(topology, run),
    }


def write_kustomization(topology: Topology, run: K8sRun, directory: Path) -> Path:
    """Writes the manifests and a kustomization.yaml into `directory`; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    manifests = render_manifests(topology, run)
    for file_name, manifest in manifests.items():
        (directory / file_name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    kustomization: Manifest = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
    }
    if run.namespace:
        kustomization["namespace"] = run.namespace
    kustomization["resources"] = list(manifests)
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return directory
