"""`kubectl port-forward` processes that let the TF reach pods on fixed 127.0.0.1 ports.

A forward dies with its pod (and may die when the container restarts), so the deployer
restarts it after every node restart, on the same local port: a node's `api_addr` never
changes during a run.
"""

from __future__ import annotations

import asyncio
import contextlib

from .compose_cli import CommandError

FORWARD_START_TIMEOUT = 15.0


class KubectlError(CommandError):
    """A kubectl command failed or timed out."""


class PortForward:
    """One `kubectl port-forward` child process from 127.0.0.1:`local_port` to a pod."""

    def __init__(
        self, kubectl: list[str], namespace: str, pod: str, local_port: int, pod_port: int
    ) -> None:
        self.argv = [
            *kubectl,
            "port-forward",
            "-n",
            namespace,
            "--address",
            "127.0.0.1",
            f"pod/{pod}",
            f"{local_port}:{pod_port}",
        ]
        self._process: asyncio.subprocess.Process | None = None
        self._drains: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Starts the forward and waits for kubectl's "Forwarding from" line."""
        await self.stop()
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), FORWARD_START_TIMEOUT)
        except TimeoutError:
            await self.stop()
            raise KubectlError(
                self.argv, f"no 'Forwarding from' line within {FORWARD_START_TIMEOUT:.0f} s"
            ) from None
        if not line.startswith(b"Forwarding from"):
            stderr = (await self._process.stderr.read()).decode(errors="replace").strip()
            await self.stop()
            raise KubectlError(
                self.argv, stderr or line.decode(errors="replace").strip() or "exited"
            )
        # kubectl keeps writing a line per connection (and errors); drain both pipes so
        # they never fill and block it.
        self._drains = [
            asyncio.create_task(self._drain(self._process.stdout)),
            asyncio.create_task(self._drain(self._process.stderr)),
        ]

    async def stop(self) -> None:
        for drain in self._drains:
            drain.cancel()
        self._drains = []
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass
