"""The search for a linearization of one register's history (Wing & Gong, with Lowe's ideas).

Wing & Gong (1993) search depth-first for a sequential order of the operations that respects
real time and the register's semantics. Lowe ("Testing for linearizability", 2017) adds two
ideas used here:

- Just-in-time linearization: an operation is linearized only when the history forces it,
  at the return of an operation that is not yet linearized. At such a decision point the
  search linearizes a chain of pending writes until the returning operation is linearized.
  Any linearization can be reordered into this shape by moving each linearization point as
  late as possible, so the search stays complete.
- Memoization of configurations: a configuration is (event position, register value,
  bitset of linearized operations, and here the position of the latest write); one that
  failed once fails again, so it is never explored twice.

Pruning rules for registers cut the chains down without losing completeness (the tests
compare the search with a brute-force checker on random small histories):

- A pending read whose value equals the register's value is linearized at once: doing so
  changes nothing and only removes an obligation.
- Every write in a chain, except the returning one, must be observed by a pending read right
  away. A write overwritten unseen by the next write of the chain could as well be put just
  before that write when its own return comes ("absorbed", see `_Search._absorb`); a write
  of unknown outcome ("info") need not happen at all.
- A configuration that overwrites the last value some unlinearized read needs, with no
  write of that value left, is dead at once rather than when the read returns.
- Pending "info" writes of one value are interchangeable, so one per value is tried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .operation import Operation

Clock = Callable[[], float]

_DEADLINE_CHECK_EVERY = 256
"""Search steps between two looks at the clock (the clock may be slow, the steps are not)."""


class TimeLimitReached(Exception):
    """The search ran past its deadline; the history is neither proven nor refuted."""


@dataclass(slots=True)
class _History:
    """A history compiled to bitsets: operation i is bit 1 << i."""

    values: list[str | None]
    events: list[tuple[int, bool]]
    """(operation index, is_call), in time order; calls first among equal times."""
    called_before: list[int]
    """called_before[i]: the operations whose call is among events[:i]."""
    invoked_at: list[int]
    """invoked_at[op]: the position of the operation's call event."""
    writes: int = 0
    info_writes: int = 0
    reads: int = 0
    reads_by_value: dict[str | None, int] = field(default_factory=dict)
    writes_by_value: dict[str | None, int] = field(default_factory=dict)

    @classmethod
    def compile(cls, ops: Sequence[Operation]) -> _History:
        timed = [(op.invoke, 0, index) for index, op in enumerate(ops)]
        timed += [(op.finish, 1, index) for index, op in enumerate(ops) if op.complete is not None]
        timed.sort()
        history = cls(
            values=[op.value for op in ops], events=[], called_before=[0], invoked_at=[0] * len(ops)
        )
        for _, is_return, index in timed:
            if not is_return:
                history.invoked_at[index] = len(history.events)
            history.events.append((index, not is_return))
            called = history.called_before[-1]
            history.called_before.append(called if is_return else called | 1 << index)
        for index, op in enumerate(ops):
            bit = 1 << index
            if op.kind == "read":
                history.reads |= bit
                by_value = history.reads_by_value
                by_value[op.value] = by_value.get(op.value, 0) | bit
            else:
                history.writes |= bit
                by_value = history.writes_by_value
                by_value[op.value] = by_value.get(op.value, 0) | bit
                if op.outcome == "info":
                    history.info_writes |= bit
        return history


class _Config(NamedTuple):
    """A decision point: the return event of an operation that is not yet linearized."""

    position: int
    """Index of the return event in `_History.events`."""
    value: str | None
    """The register's value."""
    linearized: int
    """Bitset of the linearized operations."""
    last_write: int
    """Event position of the latest decision point that changed the register (-1: none)."""


_ABSORB = -1
"""The candidate "linearize the returning write unseen, just before the latest write"."""


class _Search:
    """One depth-first search over decision points; `run` answers the question once."""

    def __init__(self, history: _History, deadline: float, clock: Clock) -> None:
        self._history = history
        self._deadline = deadline
        self._clock = clock
        self._failed: set[_Config] = set()
        self._steps = 0

    def run(self) -> bool:
        start = self._advance(0, None, 0, -1)
        if start is None:
            return True
        stack = [(start, iter(self._candidates(start)))]
        while stack:
            self._check_deadline()
            config, candidates = stack[-1]
            write = next(candidates, None)
            if write is None:
                self._failed.add(config)
                stack.pop()
                continue
            child = self._absorb(config) if write == _ABSORB else self._linearize(config, write)
            if child is True:
                return True
            if child is not None and child not in self._failed:
                stack.append((child, iter(self._candidates(child))))
        return False

    def _check_deadline(self) -> None:
        if self._steps % _DEADLINE_CHECK_EVERY == 0 and self._clock() > self._deadline:
            raise TimeLimitReached
        self._steps += 1

    def _advance(
        self, position: int, value: str | None, linearized: int, last_write: int
    ) -> _Config | None:
        """Replay events from `position` until one forces a decision; None at the end."""
        history = self._history
        events = history.events
        while position < len(events):
            index, is_call = events[position]
            bit = 1 << index
            if is_call:
                if bit & history.reads and history.values[index] == value:
                    linearized |= bit
            elif not linearized & bit:
                return _Config(position, value, linearized, last_write)
            position += 1
        return None

    def _candidates(self, config: _Config) -> list[int]:
        """What to try at a decision point, the most promising first."""
        history = self._history
        returning = history.events[config.position][0]
        wanted = history.values[returning]
        pending = history.writes & history.called_before[config.position] & ~config.linearized
        is_read = 1 << returning & history.reads
        if is_read and not pending & history.writes_by_value.get(wanted, 0):
            return []  # no write is left that could give the read its value
        first: list[int] = []
        if 1 << returning & history.writes:
            if config.last_write > history.invoked_at[returning]:
                first.append(_ABSORB)
            first.append(returning)
            pending &= ~(1 << returning)
        # For a returning read, writes of the value it returned are the likeliest to explain it.
        ok_writes = _indices(pending & ~history.info_writes)
        ok_writes.sort(key=lambda i: history.values[i] != wanted)
        info_writes = self._earliest_of_each_value(pending & history.info_writes)
        info_writes.sort(key=lambda i: history.values[i] != wanted)
        return first + ok_writes + info_writes

    def _earliest_of_each_value(self, info_writes: int) -> list[int]:
        """The earliest invoked of the pending "info" writes of each value.

        They are interchangeable (none has a return left to constrain it). Trying only the
        earliest keeps the ones used always the earliest of their value, so the memo never
        sees the same choice twice under different names.
        """
        earliest: dict[str | None, int] = {}
        for index in _indices(info_writes):  # lowest index = earliest invoked
            earliest.setdefault(self._history.values[index], index)
        return list(earliest.values())

    def _absorb(self, config: _Config) -> _Config | Literal[True] | None:
        """Linearize the returning write unseen, right before the latest write.

        The latest write came after this one was invoked, so the write may take effect just
        before it and be overwritten at once. That is the only way a write nobody reads is
        ever needed, so chains never carry unobserved writes.
        """
        history = self._history
        returning = history.events[config.position][0]
        linearized = config.linearized | 1 << returning
        value = history.values[returning]
        if value != config.value and self._strands_readers(value, linearized):
            return None
        following = self._advance(config.position + 1, config.value, linearized, config.last_write)
        return True if following is None else following

    def _linearize(self, config: _Config, write: int) -> _Config | Literal[True] | None:
        """Linearize `write` at a decision point: the next decision point, True when the
        history is fully explained, or None when the write is not worth trying here."""
        position, overwritten, linearized, _ = config
        history = self._history
        returning = history.events[position][0]
        value = history.values[write]
        observers = history.reads_by_value.get(value, 0) & history.called_before[position]
        observers &= ~linearized
        if write != returning and not observers:
            return None  # overwritten unseen by the next write of the chain: see `_absorb`
        linearized |= 1 << write | observers
        if value != overwritten and self._strands_readers(overwritten, linearized):
            return None
        if not linearized & 1 << returning:
            return _Config(position, value, linearized, position)
        following = self._advance(position + 1, value, linearized, position)
        return True if following is None else following

    def _strands_readers(self, lost_value: str | None, linearized: int) -> bool:
        """Whether a read of `lost_value`, no longer the register's value, can never be
        linearized: no write of that value is left to bring it back.

        Catching this when the value is overwritten, rather than at the read's return,
        keeps a wrong choice from being explored until then; with unique values that is most
        of the pruning there is.
        """
        history = self._history
        stranded = history.reads_by_value.get(lost_value, 0) & ~linearized
        return bool(stranded) and not history.writes_by_value.get(lost_value, 0) & ~linearized


def _indices(bits: int) -> list[int]:
    """The positions of the set bits of `bits`, lowest first."""
    found = []
    while bits:
        lowest = bits & -bits
        found.append(lowest.bit_length() - 1)
        bits ^= lowest
    return found


def is_linearizable(
    ops: Sequence[Operation], *, deadline: float = float("inf"), clock: Clock = time.monotonic
) -> bool:
    """Whether a history of one register (initially None) is linearizable.

    Operations that constrain nothing (failed ones, reads of unknown outcome) are ignored.
    Raises TimeLimitReached when `clock()` passes `deadline` before the answer is known.
    """
    keys = {op.key for op in ops}
    if len(keys) > 1:
        raise ValueError(f"a register history must be of one key, got {sorted(keys)}")
    # Operation i is the i-th invoked: bit order is invocation order (see `_candidates`).
    relevant = sorted((op for op in ops if op.constrains), key=lambda op: op.invoke)
    history = _History.compile(relevant)
    return _Search(history, deadline, clock).run()
