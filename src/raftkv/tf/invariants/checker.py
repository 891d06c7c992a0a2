"""Runs every invariant over every observation and keeps the first violation."""

from __future__ import annotations

from ..observer import Observation
from ..writes import WriteLog
from . import election, keys, monotonic
from .violation import Violation


class InvariantChecker:
    """Feed it observations (`observe`, an `Observer` listener); `violation` is the first
    rule broken, if any. `started` (time.monotonic()) is when the run began."""

    def __init__(self, writes: WriteLog, started: float) -> None:
        self.started = started
        self.rules = (
            (election.RULE, election.OneLeaderPerTerm()),
            (monotonic.RULE, monotonic.NeverGoesBack()),
            (keys.RULE, keys.KeysStay(writes)),
        )
        self.violation: Violation | None = None
        self.observed = 0
        self.with_kv = 0

    def observe(self, observation: Observation) -> None:
        if self.violation is not None or observation.state is None:
            return
        self.observed += 1
        self.with_kv += observation.state.kv is not None
        at_s = round(observation.at - self.started, 3)
        for rule, checker in self.rules:
            try:
                detail = checker.observe(observation, at_s)
            except Exception as error:  # a bug of the rule: say so, never stop the observer
                detail = f"the check crashed: {type(error).__name__}: {error}"
            if detail is not None:
                self.violation = Violation(rule, observation.name, at_s, detail)
                return
