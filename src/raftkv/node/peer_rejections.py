"""Peer messages this node refused: counted by reason, logged at most once per reason a period.

A refused message changed nothing (see `core/peer_input.py` and `raft_routes`); a flood of
forged ones must not flood the log either, so each reason logs its first refusal and then one
line per `LOG_EVERY_S` with how many were refused meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from .logs import event

LOG_EVERY_S = 10.0


class PeerRejections:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.counts: Counter[str] = Counter()
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def refused(self, reason: str, sender: int, detail: str) -> None:
        self.counts[reason] += 1
        now = time.monotonic()
        last = self._logged_at.get(reason)
        if last is not None and now - last < LOG_EVERY_S:
            self._unlogged[reason] += 1
            return
        self._logged_at[reason] = now
        event(
            self.log,
            "peer message refused",
            logging.WARNING,
            reason=reason,
            sender=sender,
            detail=detail[:300],
            also_refused_since_last_line=self._unlogged.pop(reason, 0),
        )
