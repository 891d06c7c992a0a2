"""`kv_digest`: an order-independent hash of the whole state, kept up to date per write.

Each key/value pair and each client session hashes to a 64-bit number; the digest is their sum
modulo 2^64. Adding and removing an item are O(1), so two replicas at the same applied index are
compared by one number, without scanning or dumping either (a sum, unlike xor, does not cancel
a pair that appears twice).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from .sessions import Session

_MASK = (1 << 64) - 1
_encoder = msgspec.msgpack.Encoder()


def _hash(record: object) -> int:
    raw = hashlib.blake2b(_encoder.encode(record), digest_size=8).digest()
    return int.from_bytes(raw, "big")


class StateDigest:
    """The running digest; `value` is the integer, `hex` what `/state` shows."""

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value

    @property
    def hex(self) -> str:
        return f"{self.value:016x}"

    def add_item(self, key: str, value: str) -> None:
        self.value = (self.value + _hash(("kv", key, value))) & _MASK

    def remove_item(self, key: str, value: str) -> None:
        self.value = (self.value - _hash(("kv", key, value))) & _MASK

    def add_session(self, client: str, session: Session) -> None:
        self.value = (self.value + _hash(("session", client, session))) & _MASK

    def remove_session(self, client: str, session: Session) -> None:
        self.value = (self.value - _hash(("session", client, session))) & _MASK
