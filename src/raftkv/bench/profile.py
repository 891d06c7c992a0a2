"""`--profile DIR`: py-spy samples of the raftkv leader during each raftkv run, summarized
by where the CPU goes (HTTP parsing, JSON, the Raft core, storage, the event loop, ...).

py-spy runs as a separate process for the measured window (`record --nonblocking`, so the
leader is never paused) and writes collapsed stacks (`frame;frame;... count`). Each sample
is charged to the category of its innermost frame that names one; the profiled runs still
cost py-spy's own CPU, so their throughput is not comparable with unprofiled runs.

NB: a sample is taken whenever a thread holds the GIL, running or not. A send on loopback
wakes the receiving process, which may preempt the sender inside the syscall, so on a busy
machine "socket writes" includes time spent waiting for a core; compare with the process's
user/system CPU split before calling it kernel cost.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from raftkv.core.errors import RaftKVError

SAMPLE_RATE_HZ = 200
INSTALL_HINT = "py-spy is not installed: `pip install py-spy`"

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("storage (sqlite, fsync)", ("raftkv/storage/", "sqlite3")),
    ("JSON and wire codec", ("msgspec", "json/", "raftkv/node/wire.py", "raftkv/kv/commands")),
    ("raft core", ("raftkv/core/",)),
    ("kv state machine", ("raftkv/kv/",)),
    ("peer transport", ("raftkv/node/transport",)),
    ("HTTP client (aiohttp)", ("aiohttp/client", "aiohttp/connector")),
    ("HTTP server (aiohttp)", ("aiohttp/",)),  # HTTP_SERVER: any other aiohttp frame
    ("driver loop", ("raftkv/node/driver", "raftkv/node/waiters")),
    ("node routes", ("raftkv/node/",)),
    ("logging", ("logging/",)),
    ("event loop", ("asyncio/", "uvloop", "selectors")),
)
OTHER = "other"
HTTP_SERVER = "HTTP server (aiohttp)"
HTTP_CLIENT = "HTTP client (aiohttp)"
SOCKET_WRITES = "socket writes (send syscall)"
SOCKET_WRITE_FRAMES = ("_writelines (aiohttp/http_writer.py", "_write (aiohttp/http_writer.py")
"""aiohttp hands bytes to the transport here; uvloop sends at once, holding the GIL."""


class ProfileError(RaftKVError):
    """py-spy is missing or could not sample the process."""


def find_py_spy() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise ProfileError(INSTALL_HINT)
    return found


def categorize(stack: list[str]) -> str:
    """The category of the innermost frame (last in `stack`) that names one; aiohttp frames
    count as client work when the stack went through aiohttp's client (a peer send)."""
    if stack and any(marker in stack[-1] for marker in SOCKET_WRITE_FRAMES):
        return SOCKET_WRITES
    for frame in reversed(stack):
        for category, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                if category == HTTP_SERVER and any("aiohttp/client" in f for f in stack):
                    return HTTP_CLIENT
                return category
    return OTHER


def summarize_collapsed(text: str) -> Counter[str]:
    """Samples per category from py-spy's raw (collapsed) output."""
    samples: Counter[str] = Counter()
    for line in text.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        samples[categorize(stack_text.split(";"))] += int(count)
    return samples


def top_frames(text: str, limit: int = 8) -> list[tuple[str, int]]:
    """The innermost frames with the most samples (self time)."""
    frames: Counter[str] = Counter()
    for line in text.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if stack_text and count.isdigit():
            frames[stack_text.split(";")[-1]] += int(count)
    return frames.most_common(limit)


@dataclass(slots=True)
class ProfileSummary:
    """Where the sampled CPU of one process went during one run."""

    label: str
    samples: Counter[str]
    top: list[tuple[str, int]]
    path: Path

    @property
    def total(self) -> int:
        return sum(self.samples.values())

    def shares(self) -> list[tuple[str, float]]:
        total = self.total or 1
        return [(name, count / total) for name, count in self.samples.most_common()]


class PySpyRecording:
    """One `py-spy record` of a process over a fixed duration."""

    def __init__(self, pid: int, duration_s: float, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        argv = [
            find_py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(duration_s))),
            "--rate",
            str(SAMPLE_RATE_HZ),
            "--format",
            "raw",
            "--nonblocking",
            "--gil",  # only samples holding the GIL: CPU, not threads waiting on a lock or fsync
            "--output",
            str(path),
        ]
        self._process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def finish(self, timeout_s: float) -> ProfileSummary:
        """Waits for py-spy (it stops after its duration) and summarizes its samples."""
        try:
            _, stderr = self._process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise ProfileError(f"py-spy did not finish within {timeout_s:.0f} s") from None
        if self._process.returncode != 0 or not self.path.exists():
            message = stderr.decode(errors="replace").strip().splitlines()[:1]
            raise ProfileError(f"py-spy failed on {self.label}: {' '.join(message)}")
        text = self.path.read_text()
        return ProfileSummary(self.label, summarize_collapsed(text), top_frames(text), self.path)
