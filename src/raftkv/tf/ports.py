"""Free TCP ports, reserved before node configs are rendered.

The kernel picks each port (bind to port 0). The probing socket stays bound until the node is
about to start, so nothing else in this process or on the machine gets the same port in the
meantime; `release` hands it over just before the spawn.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass(slots=True)
class PortReservation:
    """One reserved `host:port`. Invariant: `port` is bound by `_socket` until `release`."""

    host: str
    port: int
    _socket: socket.socket | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def held(self) -> bool:
        return self._socket is not None

    def release(self) -> None:
        """Frees the port for the process about to bind it (idempotent)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def reserve_port(host: str) -> PortReservation:
    """Binds an ephemeral port on `host` and keeps it until `release`."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, 0))
    except OSError:
        probe.close()
        raise
    return PortReservation(host=host, port=int(probe.getsockname()[1]), _socket=probe)


def reserve_ports(hosts: list[str]) -> list[PortReservation]:
    """One port per entry of `hosts`, all held at once (no port is handed out twice)."""
    reserved: list[PortReservation] = []
    try:
        for host in hosts:
            reserved.append(reserve_port(host))
    except OSError:
        for reservation in reserved:
            reservation.release()
        raise
    return reserved
