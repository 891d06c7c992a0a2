"""The `raftkv status` table: one row per node, unreachable nodes included.

The digest of a node that shows another digest than a node at the same applied index is
drawn in red: the two replicas diverged (equal states at equal indexes is what Raft keeps).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from raftkv.client import ApiError, NodeState

__all__ = ["render_status"]

_WIDTH_WHEN_PIPED = 160
_ROLE_STYLES = {"Leader": "bold green", "Candidate": "yellow", "Shutdown": "dim"}


def render_status(rows: list[tuple[str, NodeState | ApiError]]) -> None:
    """Print the table to stdout (wide when piped, so no column is cut)."""
    table = Table(title="raftkv cluster")
    for column in ("id", "addr", "role", "term", "leader", "last log", "applied"):
        table.add_column(
            column, justify="left" if column in ("addr", "role") else "right", no_wrap=True
        )
    table.add_column("voters", no_wrap=True)
    table.add_column("learners", no_wrap=True)
    table.add_column("keys", justify="right", no_wrap=True)
    table.add_column("digest", no_wrap=True)
    diverged = _diverged([answer for _, answer in rows if isinstance(answer, NodeState)])
    for addr, answer in rows:
        if isinstance(answer, NodeState):
            table.add_row(*_state_cells(addr, answer, answer.node_id in diverged))
        else:
            table.add_row(*_error_cells(addr, answer))
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else _WIDTH_WHEN_PIPED)
    console.print(table)


def _diverged(states: list[NodeState]) -> set[int]:
    """Ids of nodes whose digest differs from another's at the same applied index."""
    digests: dict[int | None, set[str]] = {}
    for state in states:
        if state.kv_digest is not None:
            digests.setdefault(state.last_applied_index, set()).add(state.kv_digest)
    return {state.node_id for state in states if len(digests.get(state.last_applied_index, ())) > 1}


def _state_cells(addr: str, state: NodeState, diverged: bool) -> list[str | Text]:
    voters = _ids(state.voters)
    if state.membership is not None and state.membership.get("joint"):
        voters += " (joint)"
    return [
        str(state.node_id),
        addr,
        Text(state.role, style=_ROLE_STYLES.get(state.role, "")),
        str(state.current_term),
        "-" if state.current_leader is None else str(state.current_leader),
        "-" if state.last_log_index is None else str(state.last_log_index),
        "-" if state.last_applied_index is None else str(state.last_applied_index),
        voters,
        _ids(state.learners),
        "-" if state.key_count is None else str(state.key_count),
        Text(state.kv_digest or "-", style="bold red" if diverged else ""),
    ]


def _error_cells(addr: str, error: ApiError) -> list[str | Text]:
    what = "unreachable" if error.status == 0 else f"error {error.status} {error.code}"
    return ["?", addr, Text(what, style="bold red"), *["-"] * 8]


def _ids(ids: list[int]) -> str:
    return ",".join(str(i) for i in sorted(ids)) or "-"
