"""Jepsen-style chaos: concurrent clients under a nemesis, every operation recorded, the
history checked afterwards, and a report.

General layout: `clients` (the clients and how an outcome is classified), `keys` (the
rotating key set), `history` (what is recorded), `checks` (pure end-of-run checks),
`expectations` (the checks as scenario expectations), `workload` (bootstrap, then clients
and nemesis together), `run` (what they share), `report`, `stats` and `html` (the report).
"""

from .checks import (
    CheckResult,
    Witness,
    check_durability,
    check_linearizable,
    check_local_reads,
)
from .clients import ChaosClients, ClientSettings, attempt_outcome, combined_outcome
from .expectations import chaos_expectations
from .history import History, OpRecord
from .report import default_report_dir, report_document, write_report
from .run import ChaosRun, ChaosSettings, FinalState
from .workload import ChaosWorkload

__all__ = [
    "ChaosClients",
    "ChaosRun",
    "ChaosSettings",
    "ChaosWorkload",
    "CheckResult",
    "ClientSettings",
    "FinalState",
    "History",
    "OpRecord",
    "Witness",
    "attempt_outcome",
    "chaos_expectations",
    "check_durability",
    "check_linearizable",
    "check_local_reads",
    "combined_outcome",
    "default_report_dir",
    "report_document",
    "write_report",
]
