"""Typed payloads of the HTTP contract, decoded with msgspec.

Every struct ignores fields it does not know (a newer node may add some) and gives the
fields a reference node may leave out a default.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["NodeState", "ReadOk", "WriteOk"]


class NodeState(msgspec.Struct):
    """`GET /state`: a node's role, term, log progress, membership and (optionally) its KV."""

    node_id: int
    public_addr: str
    role: str
    current_leader: int | None
    current_term: int
    last_log_index: int
    last_applied_index: int
    voters: list[int]
    kv: dict[str, str] | None = None
    learners: list[int] = msgspec.field(default_factory=list)
    committed_index: int = 0
    snapshot_index: int = 0
    membership: dict[str, Any] | None = None
    cluster_id: str | None = None

    @property
    def is_leader(self) -> bool:
        return self.role == "Leader"


class WriteOk(msgspec.Struct):
    """`POST /kv/write` success: the value before this write (None for a new key)."""

    previous: str | None = None


class ReadOk(msgspec.Struct):
    """`POST /kv/read` success: the value, None for a missing key."""

    value: str | None = None
