"""The event trace of a run: a digest of every event (for determinism) and the last few in
full (for failure reports).

Events are kept as (step, node, kind, payload) and turned into text only when a report needs
them, via the payload's `describe()`, so recording stays cheap.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

import msgspec

_encode = msgspec.msgpack.Encoder().encode
_FLUSH_BYTES = 1 << 16
"""Events are encoded into a buffer that is hashed in large pieces (cheaper per event)."""


class EventLog:
    """Records events; `digest()` covers all of them, `describe()` the last `keep`."""

    def __init__(self, keep: int = 30) -> None:
        self._last: deque[tuple[int, int, str, Any]] = deque(maxlen=keep)
        self._hash = hashlib.blake2b(digest_size=16)
        self._pending = bytearray()
        self.count = 0
        self.kinds: dict[str, int] = {}
        """How many events of each kind (a run's statistics)."""

    def add(self, step: int, node: int, kind: str, payload: Any = None) -> None:
        event = (step, node, kind, payload)
        self._last.append(event)
        self.count += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        try:
            self._pending += _encode(event)
        except TypeError:
            self._pending += repr(event).encode()
        if len(self._pending) > _FLUSH_BYTES:
            self._flush()

    def tally(self, kind: str, count: int = 1) -> None:
        """Count events too frequent to record one by one (they are in no trace)."""
        self.kinds[kind] = self.kinds.get(kind, 0) + count

    def _flush(self) -> None:
        self._hash.update(self._pending)
        self._pending.clear()

    def digest(self) -> str:
        self._flush()
        return self._hash.hexdigest()

    def describe(self) -> str:
        return "\n".join(
            f"  step {step:>6} node {node:>3} {kind}: {_describe(payload)}"
            for step, node, kind, payload in self._last
        )


def _describe(payload: Any) -> str:
    if payload is None:
        return ""
    describe = getattr(payload, "describe", None)
    if describe is not None:
        return str(describe()).replace("\n", "; ")
    return str(payload)
