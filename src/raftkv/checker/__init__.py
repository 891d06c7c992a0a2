"""History checkers: linearizability of per-key register histories (Wing-Gong/Lowe).

General layout: `operation` (what a history records), `search` (the linearization search for
one key), `anomaly` (names for recognisable violations), `minimize` (shrinking a witness),
`check` (per key and per history, with a time limit), `verdict` (the results) and `bench`
(`python -m raftkv.checker.bench`).
"""

from .anomaly import Anomaly, find_anomaly
from .check import check_history, check_key
from .operation import Operation, validate_processes
from .search import TimeLimitReached, is_linearizable
from .verdict import HistoryVerdict, KeyVerdict

__all__ = [
    "Anomaly",
    "HistoryVerdict",
    "KeyVerdict",
    "Operation",
    "TimeLimitReached",
    "check_history",
    "check_key",
    "find_anomaly",
    "is_linearizable",
    "validate_processes",
]
