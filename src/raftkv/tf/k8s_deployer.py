"""Runs a topology on Kubernetes (a StatefulSet in a namespace of its own) through kubectl.

Node control: a graceful restart deletes the pod with its grace period (SIGTERM, the
StatefulSet recreates it on the same PersistentVolumeClaim); a kill SIGKILLs the node inside
its container through `kubectl exec` (the container restarts in place). A forced delete
with grace 0 is never used: it can leave two writers on one volume. The TF reaches pods
through `kubectl port-forward`, re-established after every restart. `cleanup` deletes the
namespace unless K8S_RUNNER_PRESERVE=1.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from . import compose_cli, env
from .compose_deployer import wait_all_ready
from .compose_project import DEFAULT_IMAGE, NODE_PORT, free_loopback_ports
from .deployer import Deployer, NodeEndpoint, RestartMode, Topology, node_id_of
from .k8s_manifests import CONTAINER, K8sRun, public_addr, write_kustomization
from .k8s_port_forward import KubectlError, PortForward

PRESERVE_ENV = "K8S_RUNNER_PRESERVE"
KEEP_LOGS_ENV = "TF_KEEP_LOGS"
REQUIRE_CLUSTER_ENV = "K8S_RUNNER_REQUIRE_CLUSTER"
IMAGE_ENVS = ("OPENRAFT_KV_K8S_IMAGE", "OPENRAFT_KV_IMAGE")
KUBECTL_ENV = "RAFTKV_KUBECTL"
DEPLOYMENT_TIMEOUT_ENV = "K8S_RUNNER_DEPLOYMENT_TIMEOUT_SECS"
HTTP_TIMEOUT_ENV = "K8S_RUNNER_HTTP_TIMEOUT_SECS"
HTTP_PROBE_TIMEOUT_ENV = "K8S_RUNNER_HTTP_PROBE_TIMEOUT_SECS"
DEBUG_ENV = "K8S_RUNNER_DEBUG"
NAMESPACE_ENV = "K8S_RUNNER_NAMESPACE"
KUBECTL_TIMEOUT = 60.0
#: SIGKILL every process in the node's container but its init (the kernel ignores a SIGKILL
#: sent to PID 1 from inside its namespace); raftkv-init then exits and the kubelet
#: restarts the container. Python, because the image has no `kill` binary.
KILL_NODE_COMMAND = ["python3", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"]


def configured_image() -> str:
    for variable in IMAGE_ENVS:
        if os.environ.get(variable):
            return os.environ[variable]
    return DEFAULT_IMAGE


def configured_kubectl() -> list[str]:
    return shlex.split(os.environ.get(KUBECTL_ENV, "kubectl"))


async def cluster_problem(kubectl: list[str] | None = None, timeout: float = 10.0) -> str | None:
    """None when a cluster answers through kubectl, else why not (one line)."""
    kubectl = kubectl or configured_kubectl()
    if shutil.which(kubectl[0]) is None:
        return f"{kubectl[0]} is not installed"
    context = await compose_cli.run([*kubectl, "config", "current-context"], timeout, check=False)
    if context.returncode != 0:
        return "kubectl has no current context (no kubeconfig for a cluster)"
    readyz = [*kubectl, "get", "--raw=/readyz", f"--request-timeout={timeout:.0f}s"]
    try:
        answer = await compose_cli.run(readyz, timeout + 5, check=False)
    except compose_cli.CommandError as error:
        return error.reason
    if answer.returncode != 0:
        lines = answer.stderr.strip().splitlines()
        return f"cluster {context.stdout.strip()} does not answer: {lines[-1] if lines else answer.returncode}"
    return None


class K8sDeployer(Deployer):
    """One namespace per instance; pods are reached through port-forwards on 127.0.0.1."""

    capabilities = frozenset({"kill"})

    def __init__(
        self,
        image: str | None = None,
        namespace: str | None = None,
        run_dir: Path | None = None,
        kubectl: list[str] | None = None,
        ready_timeout: float = 180.0,
        preserve: bool | None = None,
        storage_class: str | None = None,
    ) -> None:
        self.namespace = namespace or env.text(NAMESPACE_ENV, f"raftkv-{secrets.token_hex(4)}")
        self.run = K8sRun(
            namespace=self.namespace,
            image=image or configured_image(),
            storage_class=storage_class,
        )
        self.kubectl = kubectl or configured_kubectl()
        self.run_dir = run_dir or Path(tempfile.gettempdir()) / "raftkv-tf" / self.namespace
        #: A run directory the deployer chose itself goes away after a passing run.
        self.keep_run_dir = run_dir is not None or env.flag(KEEP_LOGS_ENV)
        self._save_logs = False
        #: Pods ready after apply or a restart; then each node's /healthz through its forward.
        self.ready_timeout = env.adjust_timeout(env.seconds(DEPLOYMENT_TIMEOUT_ENV, ready_timeout))
        self.http_timeout = env.adjust_timeout(env.seconds(HTTP_TIMEOUT_ENV, ready_timeout))
        self.probe_timeout = env.seconds(HTTP_PROBE_TIMEOUT_ENV, 2.0)
        self.debug = env.flag(DEBUG_ENV)
        self.preserve = env.flag(PRESERVE_ENV) if preserve is None else preserve
        self._forwards: dict[str, PortForward] = {}
        self._ports: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None
        self._applied = False
        self._cleaned = False

    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        manifests = write_kustomization(topology, self.run, self.run_dir)
        names = topology.names()
        self._ports = dict(zip(names, free_loopback_ports(len(names)), strict=True))
        self._forwards = {
            name: PortForward(self.kubectl, self.namespace, name, port, NODE_PORT)
            for name, port in self._ports.items()
        }
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.probe_timeout)
        )
        self._applied = True
        await self._kubectl("apply", "-k", str(manifests), namespaced=False)
        await wait_all_ready(self, names, self.ready_timeout)
        return [self.endpoint(name) for name in names]

    def endpoint(self, name: str) -> NodeEndpoint:
        if name not in self._ports:
            raise KeyError(f"no node named {name!r} in namespace {self.namespace}")
        return NodeEndpoint(
            name=name,
            node_id=node_id_of(name),
            api_addr=f"127.0.0.1:{self._ports[name]}",
            public_addr=public_addr(name),
        )

    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        """graceful: delete the pod with its grace period; kill: SIGKILL the node inside its
        container. Either way Kubernetes brings the node back by itself; `start_node`
        waits for it."""
        before = await self._pod_status(name)
        await self._forwards[name].stop()
        self.note_stopped(name)  # unreachable from here until start_node forwards again
        if mode == "kill":
            # The exec session may be torn down with the container, so its exit status says
            # nothing; the container's restart count (waited for below) does.
            await compose_cli.run(
                [
                    *self.kubectl,
                    "-n",
                    self.namespace,
                    "exec",
                    name,
                    "-c",
                    CONTAINER,
                    "--",
                    *KILL_NODE_COMMAND,
                ],
                KUBECTL_TIMEOUT,
                check=False,
                error=KubectlError,
            )
        else:
            await self._kubectl("delete", "pod", name, "--wait=true", timeout=KUBECTL_TIMEOUT * 2)
        await self._wait_pod_replaced(name, before)

    async def start_node(self, name: str) -> None:
        await self.wait_ready(name, self.http_timeout)

    async def wait_ready(self, name: str, timeout: float) -> None:
        """Waits for the pod's Ready condition, then (re)starts its port-forward and waits
        for `/healthz` through it."""
        deadline = time.monotonic() + timeout
        while not (await self._pod_status(name)).ready:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"pod {name} in {self.namespace} not Ready within {timeout:.0f} s"
                )
            await asyncio.sleep(0.5)
        forward = self._forwards[name]
        url = f"http://{self.endpoint(name).api_addr}/healthz"
        last_error = "no answer"
        while time.monotonic() < deadline:
            try:
                if not forward.running:
                    await forward.start()
            except KubectlError as error:  # the pod may flap right after a restart
                last_error = error.reason
            else:
                if await self._healthz_ok(url):
                    return
            await asyncio.sleep(0.2)
        raise TimeoutError(
            f"{name} did not answer {url} (port-forward) within {timeout:.0f} s: {last_error}"
        )

    def keep_artifacts(self) -> None:
        """After a failure: save every pod's logs (and its previous container's) into the
        run directory before the namespace goes, and keep that directory."""
        self._save_logs = True
        self.keep_run_dir = True

    async def cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        for forward in self._forwards.values():
            await forward.stop()
        if self._session is not None:
            await self._session.close()
        if self._applied:
            if self._save_logs:
                await self._save_pod_logs()
            await self._remove_namespace()
        if not (self.keep_run_dir or self.preserve):
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def _remove_namespace(self) -> None:
        if self.preserve:
            print(
                f"k8s: {PRESERVE_ENV}=1, keeping namespace {self.namespace}; remove it with: "
                f"kubectl delete namespace {self.namespace}"
            )
            return
        await self._kubectl("delete", "namespace", self.namespace, "--wait=false", namespaced=False)

    async def _save_pod_logs(self) -> None:
        for name in self._ports:
            for suffix, extra in (("", []), (".previous", ["--previous"])):
                result = await compose_cli.run(
                    [
                        *self.kubectl,
                        "-n",
                        self.namespace,
                        "logs",
                        name,
                        "--all-containers",
                        *extra,
                    ],
                    KUBECTL_TIMEOUT,
                    check=False,
                    error=KubectlError,
                )
                if result.returncode == 0 and result.stdout:
                    (self.run_dir / f"{name}{suffix}.log").write_text(result.stdout)

    def describe(self) -> str:
        if not self._applied:
            where = "nothing was deployed"
        elif self.run_dir.exists() or not self._cleaned:
            where = f"manifests and pod logs in {self.run_dir}"
        else:
            where = "its files were removed after the run (keep them with TF_KEEP_LOGS=1)"
        return (
            f"Kubernetes namespace {self.namespace} (StatefulSet node, image {self.run.image}); "
            f"{where}"
        )

    async def _kubectl(
        self, *args: str, namespaced: bool = True, timeout: float = KUBECTL_TIMEOUT
    ) -> compose_cli.CommandResult:
        namespace = ["-n", self.namespace] if namespaced else []
        argv = [*self.kubectl, *namespace, *args]
        try:
            result = await compose_cli.run(argv, timeout, error=KubectlError)
        except KubectlError as error:
            self._debug(argv, str(error))
            raise
        self._debug(argv, result.stdout + result.stderr)
        return result

    def _debug(self, argv: list[str], output: str) -> None:
        """With K8S_RUNNER_DEBUG on, every kubectl command and its output go to stderr."""
        if self.debug:
            print(f"[k8s debug] $ {shlex.join(argv)}\n{output.rstrip()}", file=sys.stderr)

    async def _pod_status(self, name: str) -> PodStatus:
        result = await compose_cli.run(
            [*self.kubectl, "-n", self.namespace, "get", "pod", name, "-o", "json"],
            KUBECTL_TIMEOUT,
            check=False,
            error=KubectlError,
        )
        if result.returncode != 0:
            return PodStatus(uid="", restarts=0, ready=False)
        return PodStatus.from_pod(json.loads(result.stdout))

    async def _wait_pod_replaced(self, name: str, before: PodStatus) -> None:
        """Waits until the pod is a new one (graceful) or its container restarted (kill)."""
        deadline = time.monotonic() + self.ready_timeout
        while True:
            now = await self._pod_status(name)
            if now.uid and (now.uid != before.uid or now.restarts > before.restarts):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"pod {name} was not restarted within {self.ready_timeout:.0f} s"
                )
            await asyncio.sleep(0.2)

    async def _healthz_ok(self, url: str) -> bool:
        assert self._session is not None, "deploy() opens the HTTP session"
        try:
            async with self._session.get(url) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


@dataclass(frozen=True, slots=True)
class PodStatus:
    """The parts of a pod's status the deployer needs."""

    uid: str
    restarts: int
    ready: bool

    @classmethod
    def from_pod(cls, pod: dict[str, Any]) -> PodStatus:
        status = pod.get("status") or {}
        conditions = status.get("conditions") or []
        containers = status.get("containerStatuses") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        restarts = sum(int(c.get("restartCount", 0)) for c in containers)
        return cls(
            uid=str((pod.get("metadata") or {}).get("uid", "")), restarts=restarts, ready=ready
        )
