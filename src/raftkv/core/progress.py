"""What a leader knows about one follower's log, and how it may send to it.

Three states (as in etcd's tracker): PROBE sends one append at a time until the follower's
match is found; REPLICATE pipelines up to `max_inflight` appends, advancing `next_index`
optimistically; SNAPSHOT sends nothing but heartbeats until the snapshot is acknowledged or
times out.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from .types import NodeId


class ReplState(StrEnum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


class Tracker:
    """The leader's view of one follower.

    Invariants: `match_index` only grows; `next_index >= match_index + 1`; in REPLICATE,
    `inflight` holds the last index of each unacknowledged append, ascending.
    """

    __slots__ = (
        "acked_seq",
        "inflight",
        "last_ack",
        "last_progress",
        "last_sent_seq",
        "match_index",
        "next_index",
        "node_id",
        "paused",
        "reject_floor_seq",
        "sent_commit",
        "snapshot_deadline",
        "snapshot_index",
        "state",
    )

    def __init__(self, node_id: NodeId, next_index: int, now: int) -> None:
        self.node_id = node_id
        self.match_index = 0
        self.next_index = next_index
        self.state = ReplState.PROBE
        self.paused = False
        """PROBE only: a probe is out; send nothing more until it is answered or a heartbeat."""
        self.inflight: deque[int] = deque()
        self.acked_seq = 0
        """The highest request seq the follower answered in this term (ReadIndex rounds)."""
        self.last_sent_seq = 0
        self.reject_floor_seq = 0
        """Rejections of requests sent before this seq are stale (sent before a reset)."""
        self.last_ack = now
        """When the follower last answered (check-quorum); a new leader starts it at now."""
        self.last_progress = now
        """When `match_index` last moved or a window was opened (stall detection)."""
        self.sent_commit = 0
        self.snapshot_index = 0
        self.snapshot_deadline = 0

    def update_match(self, match_index: int, now: int) -> bool:
        """Record a successful acknowledgement; True if match grew."""
        if match_index <= self.match_index:
            return False
        self.match_index = match_index
        self.last_progress = now
        if self.next_index <= match_index:
            self.next_index = match_index + 1
        inflight = self.inflight
        while inflight and inflight[0] <= match_index:
            inflight.popleft()
        return True

    def become_probe(self, next_index: int, next_seq: int) -> None:
        self.state = ReplState.PROBE
        self.next_index = max(next_index, self.match_index + 1)
        self.paused = False
        self.inflight.clear()
        self.reject_floor_seq = next_seq

    def become_replicate(self, next_seq: int) -> None:
        self.state = ReplState.REPLICATE
        self.next_index = self.match_index + 1
        self.paused = False
        self.inflight.clear()
        self.reject_floor_seq = next_seq

    def become_snapshot(self, snapshot_index: int, deadline: int) -> None:
        self.state = ReplState.SNAPSHOT
        self.snapshot_index = snapshot_index
        self.snapshot_deadline = deadline
        self.paused = False
        self.inflight.clear()

    def describe(self) -> str:
        return f"{self.node_id}:{self.state} match={self.match_index} next={self.next_index}"
