"""A key a node held stays, and changes only to the value of a later write.

Checked on observations that carry the key/value map (the invariants expectation asks for
one per node and continuous check), per node, between two observations whose applied index
did not go back (a restarted node may resume from an older state, which is not a loss: the
monotonic rule and convergence cover it). For a key the run wrote:
- gone: it was held at applied index A and is missing at an index >= A;
- changed: the new value must be one the run tried to write to the key, and not one whose
  write was acknowledged before the write of the old value began (that is going back).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..observer import Observation
from ..writes import WriteLog

RULE = "acknowledged keys stay"


@dataclass(frozen=True, slots=True)
class _Held:
    applied: int
    value: str
    at_s: float


class KeysStay:
    def __init__(self, writes: WriteLog) -> None:
        self.writes = writes
        self._held: dict[str, dict[str, _Held]] = {}

    def observe(self, observation: Observation, at_s: float) -> str | None:
        state = observation.state
        if state is None or state.kv is None or state.last_applied_index is None:
            return None
        applied, kv = state.last_applied_index, state.kv
        held = self._held.setdefault(observation.name, {})
        broken = None
        for key, before in held.items():
            if applied >= before.applied:
                broken = broken or self._compare(key, before, kv.get(key), applied)
        for key, value in kv.items():
            if self.writes.values(key) is not None:
                held[key] = _Held(applied, value, at_s)
        return broken

    def _compare(self, key: str, before: _Held, value: str | None, applied: int) -> str | None:
        was = f"{key!r} = {before.value!r} at applied index {before.applied} ({before.at_s:.2f} s)"
        if value is None:
            return f"{was} is gone at applied index {applied}"
        if value == before.value:
            return None
        if value not in (self.writes.values(key) or ()):
            return f"{was} became {value!r}, a value no write of the run carried"
        if self.writes.superseded(key, older=value, newer=before.value):
            return f"{was} went back to {value!r}, acknowledged before {before.value!r} was sent"
        return None
