"""Port reservations and loopback addresses for local nodes."""

from __future__ import annotations

import socket

import pytest

from raftkv.tf import ports
from raftkv.tf.loopback import SHARED_HOST, node_host, node_hosts
from raftkv.tf.ports import PortReservation, reserve_port, reserve_ports


def test_a_reserved_port_is_held_until_released() -> None:
    reservation = reserve_port("127.0.0.1")
    contender = socket.socket()
    try:
        with pytest.raises(OSError):
            contender.bind(("127.0.0.1", reservation.port))
        reservation.release()
        reservation.release()  # idempotent
        contender.bind(("127.0.0.1", reservation.port))
    finally:
        contender.close()
    assert reservation.addr == f"127.0.0.1:{reservation.port}" and not reservation.held


def test_ports_reserved_together_are_distinct() -> None:
    reservations = reserve_ports(["127.0.0.1"] * 5)
    try:
        assert len({r.port for r in reservations}) == 5
    finally:
        for reservation in reservations:
            reservation.release()


def test_a_failed_reservation_releases_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[PortReservation] = []

    def reserve_then_fail(host: str) -> PortReservation:
        if made:
            raise OSError("address not available")
        made.append(reserve_port(host))
        return made[0]

    monkeypatch.setattr(ports, "reserve_port", reserve_then_fail)
    with pytest.raises(OSError, match="not available"):
        ports.reserve_ports(["127.0.0.1", "127.0.0.2"])
    assert not made[0].held


def test_node_hosts() -> None:
    assert node_host(0) == "127.0.0.11" and node_host(2) == "127.0.0.13"
    assert node_hosts(2, distinct=False) == [SHARED_HOST, SHARED_HOST]
    assert node_hosts(3) in ([node_host(i) for i in range(3)], [SHARED_HOST] * 3)
    with pytest.raises(ValueError, match="no loopback address"):
        node_host(300)
