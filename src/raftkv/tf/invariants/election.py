"""Election Safety (Raft §5.2): at most one leader can be elected in a given term.

A node reporting role Leader in term T claims term T; two different node ids claiming the
same term break the rule, whenever each was seen.
"""

from __future__ import annotations

from ..observer import Observation

RULE = "one leader per term"


class OneLeaderPerTerm:
    def __init__(self) -> None:
        self._leaders: dict[int, tuple[int, str, float]] = {}
        """term -> (node id, node name, time) of the first leader seen in it."""

    def observe(self, observation: Observation, at_s: float) -> str | None:
        state = observation.state
        if state is None or not state.is_leader:
            return None
        term = state.current_term
        first = self._leaders.setdefault(term, (state.node_id, observation.name, at_s))
        if first[0] == state.node_id:
            return None
        return (
            f"node {state.node_id} leads term {term}, which node {first[0]} ({first[1]}) "
            f"was seen leading at {first[2]:.2f} s"
        )
