"""The invariants expectation: on in every scenario, it checks every observation of the run
against Raft's invariants (see `raftkv.tf.invariants`) and fails the run as soon as a
continuous check finds one broken, naming the observation and its time."""

from __future__ import annotations

from collections.abc import Callable

from ..context import ExpectationFailed, RunContext
from ..invariants import InvariantChecker
from ..scenario import Expectation


class InvariantsExpectation(Expectation):
    """`maps`: ask for every node's key/value map at each continuous check, so that the
    key rule has something to look at (nodes past `state_kv_max_keys` keys leave it out)."""

    def __init__(self, *, maps: bool = True, name: str = "invariants") -> None:
        self.maps = maps
        self.name = name
        self.checker: InvariantChecker | None = None
        self._stop_listening: Callable[[], None] | None = None

    async def start(self, ctx: RunContext) -> None:
        self.checker = InvariantChecker(ctx.writes, ctx.started)
        self._stop_listening = ctx.observer.listen(self.checker.observe)
        if self.maps:
            ctx.observer.request_kv()

    async def check_during_run(self, ctx: RunContext) -> None:
        self._raise_if_broken(ctx)
        if self.maps:
            ctx.observer.request_kv()

    async def evaluate(self, ctx: RunContext) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        checker = self._raise_if_broken(ctx)
        ctx.fact(self.name, {"observations": checker.observed, "with_maps": checker.with_kv})

    def _raise_if_broken(self, ctx: RunContext) -> InvariantChecker:
        checker = self.checker
        if checker is None:
            raise ExpectationFailed("never started")
        if checker.violation is not None:
            ctx.fact("invariant_violation", checker.violation.to_json())
            raise ExpectationFailed(checker.violation.describe())
        return checker
