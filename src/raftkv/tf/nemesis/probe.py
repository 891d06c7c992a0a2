"""Is a link cut? A TCP connect from the source's address to the destination's port."""

from __future__ import annotations

import asyncio
import contextlib

PROBE_TIMEOUT_S = 0.5


async def can_connect(source_host: str, dest_host: str, dest_port: int) -> bool:
    """True when a connection from `source_host` reaches `dest_host:dest_port` in time."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            _, writer = await asyncio.open_connection(
                dest_host, dest_port, local_addr=(source_host, 0)
            )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
