"""A loopback address of its own for every local node (127.0.0.11, .12, ...).

Linux routes all of 127.0.0.0/8 to `lo`, so each node can bind its own address; rules on
source and destination addresses can then cut one link without touching the others (the
network faults of the chaos scenarios). Where an address cannot be bound, every node falls
back to 127.0.0.1 and such faults are unavailable.
"""

from __future__ import annotations

import socket

SHARED_HOST = "127.0.0.1"
#: Node i binds 127.0.0.(FIRST_OCTET + i); .1 to .10 stay free for clients and tools.
FIRST_OCTET = 11
MAX_NODES = 255 - FIRST_OCTET


def node_host(node_id: int) -> str:
    if not 0 <= node_id < MAX_NODES:
        raise ValueError(f"node id {node_id} has no loopback address (0..{MAX_NODES - 1})")
    return f"127.0.0.{FIRST_OCTET + node_id}"


def can_bind(host: str) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, 0))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def node_hosts(count: int, *, distinct: bool = True) -> list[str]:
    """The bind address of nodes 0..count-1: one each when `distinct` and the machine
    allows it, else 127.0.0.1 for all."""
    if distinct:
        hosts = [node_host(node_id) for node_id in range(count)]
        if all(can_bind(host) for host in hosts):
            return hosts
    return [SHARED_HOST] * count
