"""Server processes the bench starts: spawn, SIGKILL, stop, and the CPU time and memory they
use.

Every server runs in a session of its own and gets SIGKILL from the kernel if the bench dies
first (PR_SET_PDEATHSIG), so neither Ctrl-C nor a `kill -9` of the bench leaves a server
behind. CPU time comes from `/proc/<pid>/stat` (utime + stime), which is what `top` and
`time` read, and resident memory from `/proc/<pid>/status` (VmRSS), so the numbers of both
systems are measured the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from raftkv.core.errors import RaftKVError

PR_SET_PDEATHSIG = 1
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
STOP_GRACE_S = 5.0


class BenchProcessError(RaftKVError):
    """A server process could not be started, or exited when it should be running."""


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports the kernel considers free on `host` right now. All probes stay
    bound until every port is picked: one at a time, the kernel may hand out a port twice."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((host, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as exc:
        raise BenchProcessError(f"cannot read CPU time of pid {pid}: {exc.strerror}") from exc
    # The command name (field 2) may contain spaces; the fields after it are space-separated.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS_PER_S


def rss_bytes(pid: int) -> int:
    """Resident set size of a live process, from the VmRSS line of /proc/<pid>/status."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        raise BenchProcessError(f"cannot read memory of pid {pid}: {exc.strerror}") from exc
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # the kernel writes "VmRSS:   1234 kB"
    raise BenchProcessError(f"pid {pid} has no VmRSS (a zombie?)")


def _kill_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that asks the kernel to SIGKILL the child when the bench dies."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return arm


class ServerProcess:
    """One server (a raftkv node or an etcd member); its output goes to `log_path`."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise BenchProcessError(f"{self.name} is not running")
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Spawns the server (again, after a kill: same argv, same data directory)."""
        if self.running:
            raise BenchProcessError(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_kill_with_parent(),
                )
            except OSError as exc:
                raise BenchProcessError(f"cannot start {self.name}: {exc}") from exc

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def kill(self) -> None:
        """SIGKILL, then reap: the crash the failover measurement needs."""
        if self._popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._popen.kill()
        self._popen.wait()

    def stop(self) -> None:
        """SIGTERM with a grace period, then SIGKILL (idempotent)."""
        if self._popen is None or self._popen.poll() is not None:
            return
        self._popen.terminate()
        try:
            self._popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def check_alive(self) -> None:
        """Raises with the tail of the log when the server has exited."""
        if self._popen is not None and self._popen.poll() is not None:
            raise BenchProcessError(
                f"{self.name} exited with status {self._popen.returncode}: {self.log_tail()}"
            )

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])
