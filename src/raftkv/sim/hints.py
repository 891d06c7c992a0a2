"""Connection-loss hints: what the node's transport tells its core when a peer's stream ends
without a close handshake (`RawNode.connection_lost`).

A crashed node's peers learn of it after a network delay, unless the link from the victim is
blocked (no FIN crosses a partition) or the peer had no open stream (a small share). The fault
injector also sends wrong hints, about peers that live, as a reset connection would.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable

from raftkv.core import NodeId

from .network import NetworkFaults

NO_STREAM = 0.1
"""Share of peers that had no open stream to the crashed node, so they get no hint."""


class Hints:
    """Hints in flight, ordered by delivery time."""

    def __init__(self, rng: random.Random, network: NetworkFaults) -> None:
        self.rng = rng
        self.network = network
        self._queue: list[tuple[int, int, NodeId, NodeId]] = []
        self._seq = 0

    def on_crash(
        self,
        victim: NodeId,
        peers: Iterable[NodeId],
        blocked: set[tuple[NodeId, NodeId]],
        now: int,
    ) -> None:
        """`victim` crashed; `peers` are the nodes still running."""
        rng = self.rng
        for peer in sorted(peers):
            if (victim, peer) in blocked or rng.random() < NO_STREAM:
                continue
            self.push(
                peer, victim, now + rng.randint(self.network.delay_min, self.network.delay_max)
            )

    def push(self, to: NodeId, peer: NodeId, at: int) -> None:
        """Tell `to`, at virtual time `at`, that `peer`'s connection was lost."""
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, to, peer))

    def due(self, now: int) -> list[tuple[NodeId, NodeId]]:
        """(to, peer) of every hint due by `now`, in delivery order."""
        out = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            _, _, to, peer = heapq.heappop(queue)
            out.append((to, peer))
        return out
