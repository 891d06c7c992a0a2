"""The keys the chaos clients work on: a small active set, so that operations collide,
renewed key by key so that no key's history grows past what the checker handles quickly
(DESIGN.md: "keep about 300 operations per key, then move on to fresh keys")."""

from __future__ import annotations

import random


class KeyRotation:
    """`active` keys at a time; a key retires after `ops_per_key` operations."""

    def __init__(self, active: int, ops_per_key: int, prefix: str = "chaos") -> None:
        if active < 1:
            raise ValueError(f"the active key set needs at least one key, got {active}")
        if ops_per_key < 1:
            raise ValueError(f"ops per key must be at least 1, got {ops_per_key}")
        self.ops_per_key = ops_per_key
        self.prefix = prefix
        self._issued = 0
        self._slots = [self._fresh() for _ in range(active)]
        self._used = [0] * active

    @property
    def keys_used(self) -> int:
        """How many distinct keys were handed out so far (retired and active)."""
        return self._issued

    def take(self, rng: random.Random) -> str:
        """A key of the active set for one more operation (counted now)."""
        slot = rng.randrange(len(self._slots))
        key = self._slots[slot]
        self._used[slot] += 1
        if self._used[slot] >= self.ops_per_key:
            self._slots[slot] = self._fresh()
            self._used[slot] = 0
        return key

    def _fresh(self) -> str:
        key = f"{self.prefix}-{self._issued}"
        self._issued += 1
        return key
