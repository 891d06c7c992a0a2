"""The virtual network: loss, duplication, delay (hence reordering) and partitions.

Every message gets its own random delay, so two messages on one link may overtake each other,
as they do over several HTTP connections. A partition is a set of blocked directed links; it
is checked at delivery, so a partition also eats what was already in flight (like iptables
dropping every packet, not only new connections). All randomness comes from the `Random` the
network is given.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from raftkv.core import Message, NodeId


@dataclass(frozen=True, slots=True)
class NetworkFaults:
    """The knobs. Probabilities are per message; delays are in virtual milliseconds."""

    loss: float = 0.0
    duplicate: float = 0.0
    delay_min: int = 1
    delay_max: int = 20
    long_delay: float = 0.0
    """Probability that a message is held back far longer (up to `long_delay_max`)."""
    long_delay_max: int = 500

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "long_delay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if not 0 <= self.delay_min <= self.delay_max <= self.long_delay_max:
            raise ValueError("need 0 <= delay_min <= delay_max <= long_delay_max")


class Network:
    """Messages in flight, ordered by delivery time (ties by send order)."""

    def __init__(self, rng: random.Random, faults: NetworkFaults) -> None:
        self.rng = rng
        self.faults = faults
        self.blocked: set[tuple[NodeId, NodeId]] = set()
        self._queue: list[tuple[int, int, Message]] = []
        self._seq = 0
        self.sent = 0
        self.dropped = 0
        self.delivered = 0

    def __len__(self) -> int:
        return len(self._queue)

    def send(self, msg: Message, now: int) -> None:
        """Put `msg` on the wire: it may be lost, duplicated and is delayed."""
        self.sent += 1
        faults = self.faults
        rng = self.rng
        if faults.loss and rng.random() < faults.loss:
            self.dropped += 1
            return
        copies = 2 if faults.duplicate and rng.random() < faults.duplicate else 1
        for _ in range(copies):
            self._push(msg, now + self._draw_delay())

    def _draw_delay(self) -> int:
        faults = self.faults
        if faults.long_delay and self.rng.random() < faults.long_delay:
            return self.rng.randint(faults.delay_max, faults.long_delay_max)
        return self.rng.randint(faults.delay_min, faults.delay_max)

    def _push(self, msg: Message, at: int) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, msg))

    def due(self, now: int) -> list[Message]:
        """Take every message due by `now` that crosses no blocked link, in delivery order."""
        out: list[Message] = []
        queue = self._queue
        blocked = self.blocked
        while queue and queue[0][0] <= now:
            msg = heapq.heappop(queue)[2]
            if blocked and (msg.frm, msg.to) in blocked:
                self.dropped += 1
                continue
            out.append(msg)
        self.delivered += len(out)
        return out

    def pop_any(self, position: int) -> Message | None:
        """Take the message at `position` (modulo the queue) regardless of its time: lets a
        test deliver messages in any order."""
        if not self._queue:
            return None
        item = self._queue.pop(position % len(self._queue))
        heapq.heapify(self._queue)
        return item[2]

    def partition(self, groups: list[list[NodeId]]) -> None:
        """Symmetric partition: nodes talk only within their group."""
        self.blocked = {
            (a, b)
            for i, group in enumerate(groups)
            for j, other in enumerate(groups)
            if i != j
            for a in group
            for b in other
        }

    def block(self, frm: NodeId, to: NodeId) -> None:
        """Asymmetric fault: messages from `frm` to `to` are lost, the other way still works."""
        self.blocked.add((frm, to))

    def heal(self) -> None:
        self.blocked = set()

    def clear(self) -> None:
        """Drop every message in flight."""
        self.dropped += len(self._queue)
        self._queue.clear()
