"""One node as a local child process: spawn, signal, wait, and never leave it behind.

The node runs in a session (process group) of its own, so a kill reaches anything it
spawned (a wrapper script, say), and Ctrl-C in the terminal reaches only the framework,
which then stops the nodes in order. On Linux the child also gets SIGKILL if the framework
dies without cleaning up (PR_SET_PDEATHSIG), so even `kill -9` of the framework leaves no
node running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from raftkv.core.errors import RaftKVError

from .deployer import RestartMode

PR_SET_PDEATHSIG = 1


class NodeProcessError(RaftKVError):
    """A node process could not be started or did not stop."""


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking the kernel to SIGKILL the child when its parent dies."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name or not hasattr(os, "fork"):
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return arm


class NodeProcess:
    """The process of one node; `command` is the node command without `--config`."""

    def __init__(
        self, name: str, command: list[str], config: Path, log: Path, env: dict[str, str]
    ) -> None:
        self.name = name
        self.command = [*command, "--config", str(config)]
        self.log = log
        self.env = env
        self._process: asyncio.subprocess.Process | None = None
        self.spawned_pids: list[int] = []

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    async def spawn(self) -> None:
        if self.running:
            raise NodeProcessError(f"{self.name} is already running (pid {self.pid})")
        self._append_log_marker("start")
        with self.log.open("ab") as log:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self.command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=self.env,
                    cwd=self.log.parent,
                    start_new_session=True,
                    preexec_fn=_parent_death_signal(),
                )
            except OSError as error:
                raise NodeProcessError(
                    f"cannot start {self.name} with {self.command[0]}: {error.strerror} "
                    "(OPENRAFT_KV_NODE_BIN overrides the node command)"
                ) from error
        self.spawned_pids.append(self._process.pid)

    async def stop(self, mode: RestartMode, grace: float) -> None:
        """graceful: SIGTERM, then SIGKILL after `grace` seconds; kill: SIGKILL at once.
        Returns once the process has exited and was reaped."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        self._append_log_marker(f"stop ({mode})")
        if mode == "graceful":
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), grace)
        self._kill_group(process.pid)
        await process.wait()

    def signal(self, signum: int) -> None:
        """Sends `signum` to the node's process group (pause and resume use it)."""
        if self._process is None or self._process.returncode is not None:
            raise NodeProcessError(f"{self.name} is not running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signum)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return f"{self.name}: no log at {self.log}"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"last log lines of {self.name} ({self.log}):\n{tail}"

    @staticmethod
    def _kill_group(pid: int) -> None:
        # The group outlives its leader if the node spawned children: kill it either way.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    def _append_log_marker(self, what: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.log.open("a") as log:
            log.write(f"--- raftkv-tf: {what} {self.name} at {stamp}\n")
