"""CPU seconds used by the servers and by the bench client over a measured window."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from .processes import ServerProcess


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds at one instant: per server (by role label) and of the client."""

    servers: Mapping[str, float]
    client: float


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """CPU seconds spent between two samples."""

    servers: Mapping[str, float]
    client: float

    @classmethod
    def between(cls, before: CpuSample, after: CpuSample) -> CpuUsage:
        return cls(
            servers={
                label: after.servers[label] - before.servers[label] for label in before.servers
            },
            client=after.client - before.client,
        )

    def per_op_us(self, ops: int) -> dict[str, float]:
        """Microseconds of CPU per successful operation, per server and for the client."""
        if ops <= 0:
            return {}
        usage = {**self.servers, "client": self.client}
        return {label: seconds * 1e6 / ops for label, seconds in usage.items()}


class CpuMeter:
    """Samples the CPU time of a fixed set of server processes and of this process."""

    def __init__(self, servers: Mapping[str, ServerProcess]) -> None:
        self._servers = dict(servers)

    def sample(self) -> CpuSample:
        return CpuSample(
            servers={label: proc.cpu_seconds() for label, proc in self._servers.items()},
            # process_time covers every thread of the bench: the event loop and aiohttp's
            # resolver threads alike.
            client=time.process_time(),
        )
