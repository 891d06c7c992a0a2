"""Applying a `Put` with client sessions, once, for every place the state lives.

A session deduplicates retries: a client retries a write with the same (client_id, serial)
until it hears an answer, and the state machine returns the first answer instead of applying
the write twice. Sessions are part of the replicated state (and of every snapshot), so a retry
that reaches a new leader is still recognised. Eviction is by the index of a session's last
write, never by clock, so every replica evicts the same sessions.

The rules live in `apply_put`; where keys, values and sessions are kept (a dict in memory, a
SQLite file on disk) is a `KvBackend`, so the simulator's state machine and the node's on-disk
store cannot drift apart.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import msgspec

from .commands import Put
from .digest import StateDigest


class KvResult(msgspec.Struct, frozen=True):
    """The answer to one applied command: `previous` value on success, else an error code."""

    ok: bool
    previous: str | None = None
    error: str | None = None
    message: str = ""


class Session(msgspec.Struct, frozen=True, array_like=True):
    """A client's last write: its serial, a digest of the request, and the answer it got."""

    last_serial: int
    digest: bytes
    response: KvResult


class KvBackend(Protocol):
    """Where the state lives. Writes happen inside the caller's batch (one transaction)."""

    def value(self, key: str) -> str | None: ...
    def session(self, client: str) -> Session | None: ...
    def put_value(self, key: str, value: str, previous: str | None) -> None:
        """Set `key`; `previous` is its value before (None: a new key)."""

    def put_session(self, client: str, session: Session, index: int, replaces: bool) -> None:
        """Store `session`, ordered for eviction by `index` (the write's log index);
        `replaces`: the client had a session already."""

    def session_count(self) -> int: ...
    def pop_oldest_session(self) -> tuple[str, Session]:
        """Remove and return the session whose last write is the oldest."""


def request_digest(cmd: Put) -> bytes:
    return hashlib.blake2b(f"{cmd.key}\x00{cmd.value}".encode(), digest_size=8).digest()


def apply_put(
    backend: KvBackend, digest: StateDigest, index: int, cmd: Put, max_sessions: int
) -> KvResult:
    """Apply `cmd` at log `index`; `digest` follows every change made to the state."""
    client = cmd.client_id or f"key:{cmd.key}"
    request = request_digest(cmd)
    session = backend.session(client)
    if session is not None:
        if cmd.serial < session.last_serial:
            return KvResult(
                ok=False,
                error="stale_serial",
                message=f"serial {cmd.serial} is below the session's last serial {session.last_serial}",
            )
        if cmd.serial == session.last_serial:
            if request == session.digest:
                return session.response
            return KvResult(
                ok=False,
                error="serial_conflict",
                message=f"serial {cmd.serial} was already used for a different write",
            )
        digest.remove_session(client, session)
    previous = backend.value(cmd.key)
    result = KvResult(ok=True, previous=previous)
    if previous is not None:
        digest.remove_item(cmd.key, previous)
    digest.add_item(cmd.key, cmd.value)
    backend.put_value(cmd.key, cmd.value, previous)
    new_session = Session(cmd.serial, request, result)
    digest.add_session(client, new_session)
    backend.put_session(client, new_session, index, replaces=session is not None)
    while backend.session_count() > max_sessions:
        evicted_client, evicted = backend.pop_oldest_session()
        digest.remove_session(evicted_client, evicted)
    return result
