"""The key-value state machine in memory: the simulator's and the tests' state (the node keeps
the same state on disk, `state_store.py`). Both apply through `sessions.apply_put`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import msgspec

from raftkv.core.types import Entry, EntryKind

from .commands import decode_command
from .digest import StateDigest
from .sessions import KvResult, Session, apply_put

DEFAULT_MAX_SESSIONS = 100_000
Applied = list[tuple[Entry, KvResult | None]]
"""What a batch applied: each entry (above the applied index) with its command's result."""


class _Snapshot(msgspec.Struct, array_like=True):
    applied_index: int
    kv: dict[str, str]
    sessions: list[tuple[str, Session]]


class KvStateMachine:
    """Applies committed commands in log order. Deterministic: same entries, same state."""

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        self.kv: dict[str, str] = {}
        self.applied_index = 0
        self.max_sessions = max_sessions
        self.digest = StateDigest()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    # -- KvBackend ---------------------------------------------------------------------------

    def value(self, key: str) -> str | None:
        return self.kv.get(key)

    def session(self, client: str) -> Session | None:
        return self._sessions.get(client)

    def put_value(self, key: str, value: str, previous: str | None) -> None:
        self.kv[key] = value

    def put_session(self, client: str, session: Session, index: int, replaces: bool) -> None:
        self._sessions[client] = session
        self._sessions.move_to_end(client)

    def session_count(self) -> int:
        return len(self._sessions)

    def pop_oldest_session(self) -> tuple[str, Session]:
        return self._sessions.popitem(last=False)

    # -- the state machine -------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        return self.kv.get(key)

    def mark_applied(self, index: int) -> None:
        """Record that a non-command entry (blank, membership) at `index` was applied."""
        self.applied_index = index

    def apply(self, index: int, data: bytes) -> KvResult:
        """Apply the command at log `index` and return its result."""
        cmd = decode_command(data)
        self.applied_index = index
        return apply_put(self, self.digest, index, cmd, self.max_sessions)

    def apply_entries(self, entries: Sequence[Entry]) -> Applied:
        """Apply committed entries in order; those at or below the applied index are skipped."""
        applied: Applied = []
        for entry in entries:
            if entry.index <= self.applied_index:
                continue
            if entry.kind is EntryKind.COMMAND:
                applied.append((entry, self.apply(entry.index, entry.data)))
            else:
                self.mark_applied(entry.index)
                applied.append((entry, None))
        return applied

    def sessions_in_eviction_order(self) -> list[tuple[str, Session]]:
        return list(self._sessions.items())

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(
            _Snapshot(self.applied_index, self.kv, list(self._sessions.items()))
        )

    def restore(self, data: bytes) -> None:
        snap = msgspec.msgpack.decode(data, type=_Snapshot)
        self.applied_index = snap.applied_index
        self.kv = snap.kv
        self._sessions = OrderedDict(snap.sessions)
        self.digest = StateDigest()
        for key, value in self.kv.items():
            self.digest.add_item(key, value)
        for client, session in self._sessions.items():
            self.digest.add_session(client, session)
