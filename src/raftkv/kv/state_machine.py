"""The key-value state machine with client sessions.

A session deduplicates retries: a client retries a write with the same (client_id, serial)
until it hears an answer, and the state machine returns the first answer instead of applying
the write twice. Sessions are part of the replicated state (and of every snapshot), so a retry
that reaches a new leader is still recognised. Eviction is by applied order, never by clock, so
every replica evicts the same sessions.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import msgspec

from .commands import Put, decode_command

DEFAULT_MAX_SESSIONS = 100_000


class KvResult(msgspec.Struct, frozen=True):
    """The answer to one applied command: `previous` value on success, else an error code."""

    ok: bool
    previous: str | None = None
    error: str | None = None
    message: str = ""


class _Session(msgspec.Struct, array_like=True):
    last_serial: int
    digest: bytes
    response: KvResult


class _Snapshot(msgspec.Struct, array_like=True):
    applied_index: int
    kv: dict[str, str]
    sessions: list[tuple[str, _Session]]


def _digest(cmd: Put) -> bytes:
    return hashlib.blake2b(f"{cmd.key}\x00{cmd.value}".encode(), digest_size=8).digest()


class KvStateMachine:
    """Applies committed commands in log order. Deterministic: same entries, same state."""

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        self.kv: dict[str, str] = {}
        self.applied_index = 0
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def get(self, key: str) -> str | None:
        return self.kv.get(key)

    def mark_applied(self, index: int) -> None:
        """Record that a non-command entry (blank, membership) at `index` was applied."""
        self.applied_index = index

    def apply(self, index: int, data: bytes) -> KvResult:
        """Apply the command at log `index` and return its result."""
        cmd = decode_command(data)
        self.applied_index = index
        client = cmd.client_id or f"key:{cmd.key}"
        digest = _digest(cmd)
        session = self._sessions.get(client)
        if session is not None:
            if cmd.serial < session.last_serial:
                return KvResult(
                    ok=False,
                    error="stale_serial",
                    message=f"serial {cmd.serial} is below the session's last serial {session.last_serial}",
                )
            if cmd.serial == session.last_serial:
                if digest == session.digest:
                    return session.response
                return KvResult(
                    ok=False,
                    error="serial_conflict",
                    message=f"serial {cmd.serial} was already used for a different write",
                )
        result = KvResult(ok=True, previous=self.kv.get(cmd.key))
        self.kv[cmd.key] = cmd.value
        self._sessions[client] = _Session(cmd.serial, digest, result)
        self._sessions.move_to_end(client)
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return result

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(
            _Snapshot(self.applied_index, self.kv, list(self._sessions.items()))
        )

    def restore(self, data: bytes) -> None:
        snap = msgspec.msgpack.decode(data, type=_Snapshot)
        self.applied_index = snap.applied_index
        self.kv = snap.kv
        self._sessions = OrderedDict(snap.sessions)

    def session_count(self) -> int:
        return len(self._sessions)
