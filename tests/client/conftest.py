"""Fixtures of the client tests: fake nodes on loopback, and a port nobody listens on."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from client_fake_node import FakeNode, MakeFake


@pytest.fixture
async def make_fake() -> AsyncIterator[MakeFake]:
    """Starts fake nodes on demand; stops every one at teardown."""
    started: list[FakeNode] = []

    async def make(node_id: int = 0, **kwargs: object) -> FakeNode:
        fake = FakeNode(node_id, **kwargs)  # type: ignore[arg-type]
        await fake.start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        await fake.stop()


@pytest.fixture
def dead_addr() -> str:
    """An address that refuses connections: a port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"
