"""What never goes back on one node.

- The term: it is durable (persisted before any message that depends on it), so it never
  goes back, not even across a restart.
- The commit and applied indexes: volatile (Raft paper, Figure 2), so a restarted node may
  start lower; within one process they only grow. The deployer's incarnation of the node
  (`Observation.incarnation`) tells one process from the next.

A field a node does not report (a pristine reference node's null indexes) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..observer import Observation

RULE = "monotonic term and indexes"


@dataclass(frozen=True, slots=True)
class _Seen:
    incarnation: int
    at_s: float
    term: int
    committed: int | None
    applied: int | None


class NeverGoesBack:
    def __init__(self) -> None:
        self._last: dict[str, _Seen] = {}

    def observe(self, observation: Observation, at_s: float) -> str | None:
        state = observation.state
        if state is None:
            return None
        now = _Seen(
            observation.incarnation,
            at_s,
            state.current_term,
            state.committed_index or None,
            state.last_applied_index,
        )
        before = self._last.get(observation.name)
        self._last[observation.name] = now
        if before is None:
            return None
        if now.term < before.term:
            lost = now.term == 0 and not state.last_log_index
            why = " (it came back with no log: its durable state was lost)" if lost else ""
            return f"term went back from {before.term} (at {before.at_s:.2f} s) to {now.term}{why}"
        if now.incarnation != before.incarnation:
            return None
        for field in ("committed", "applied"):
            old, new = getattr(before, field), getattr(now, field)
            if old is not None and new is not None and new < old:
                return (
                    f"{field} index went back from {old} (at {before.at_s:.2f} s) to {new} "
                    "in the same process"
                )
        return None
