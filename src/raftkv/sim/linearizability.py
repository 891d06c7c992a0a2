"""Linearizability of the client history, per key (Herlihy & Wing), via `raftkv.checker`.

The client oracle records every operation; this module hands the history to
`raftkv.checker.check_history` and turns its verdict into a failure text. A verdict of
"unknown" (the checker's time limit) is a failure too, naming the key.
"""

from __future__ import annotations

from .history import History

TIME_LIMIT_S = 30.0


def checker_available() -> bool:
    try:
        from raftkv.checker import check_history  # noqa: F401
    except ImportError:
        return False
    return True


def check_linearizable(history: History) -> str:
    """ "" when the history is linearizable, else a description of the failure."""
    if not checker_available() or not history.ops:
        return ""
    from raftkv.checker import check_history

    verdict = check_history(history.to_operations(), time_limit=TIME_LIMIT_S)
    if verdict.ok:
        return ""
    return str(verdict.describe())
