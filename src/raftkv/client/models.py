"""Typed payloads of the HTTP contract, decoded with msgspec.

Every struct ignores fields it does not know (a newer node may add some) and gives the
fields a reference node may leave out a default.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["SCAN_LIMIT_MAX", "NodeState", "ReadOk", "ScanPage", "WriteOk"]

SCAN_LIMIT_MAX = 1000
"""The most pairs a node returns in one `GET /kv/scan` page."""


class NodeState(msgspec.Struct):
    """`GET /state`: a node's role, term, log progress, membership and (optionally) its KV.

    `kv` is None when it was not asked for, and also when a raftkv node holds too much to
    send it (`kv_omitted` says why); `kv_digest` and `kv_keys` describe the whole state at
    `last_applied_index` either way. A reference node sends neither of them.
    """

    node_id: int
    public_addr: str
    role: str
    current_leader: int | None
    current_term: int
    last_log_index: int | None
    """None (JSON null) on a pristine reference node, which has no log yet."""
    last_applied_index: int | None
    """None (JSON null) on a pristine reference node, which applied nothing yet."""
    voters: list[int]
    kv: dict[str, str] | None = None
    learners: list[int] = msgspec.field(default_factory=list)
    committed_index: int = 0
    snapshot_index: int = 0
    membership: dict[str, Any] | None = None
    cluster_id: str | None = None
    kv_digest: str | None = None
    """16 hex digits: an order-independent hash of keys, values and client sessions at
    `last_applied_index`; equal on two nodes at the same applied index unless they diverged."""
    kv_keys: int | None = None
    kv_omitted: str | None = None
    """Why `kv` is None although it was asked for (the state is too large for `/state`)."""

    @property
    def is_leader(self) -> bool:
        return self.role == "Leader"

    @property
    def key_count(self) -> int | None:
        """`kv_keys`, else the size of `kv`; None when the node sent neither."""
        if self.kv_keys is not None:
            return self.kv_keys
        return None if self.kv is None else len(self.kv)


class WriteOk(msgspec.Struct):
    """`POST /kv/write` success: the value before this write (None for a new key)."""

    previous: str | None = None


class ReadOk(msgspec.Struct):
    """`POST /kv/read` success: the value, None for a missing key."""

    value: str | None = None


class ScanPage(msgspec.Struct):
    """`GET /kv/scan` success: pairs in key order; `next` is the `after` of the following
    page (None: this was the last one)."""

    items: list[tuple[str, str]]
    next: str | None = None
