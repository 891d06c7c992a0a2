"""Each safety checker, fed good and bad observations directly."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from raftkv.core import (
    EMPTY_MEMBERSHIP,
    Entry,
    EntryKind,
    Membership,
    NodeInfo,
    Role,
    SnapshotMeta,
)
from raftkv.core.membership import encode_membership
from raftkv.kv import KvStateMachine, Put, encode_command
from raftkv.sim.checkers import (
    CheckerSet,
    CommitRule,
    CommittedEntries,
    ElectionSafety,
    IndexOrder,
    LeaderCompleteness,
    LogMatching,
    Monotonic,
    SafetyViolation,
    SnapshotContents,
    StateMachineSafety,
    StateStoreBounds,
)
from raftkv.sim.log import SimLog


def entry(term: int, index: int, data: bytes = b"") -> Entry:
    return Entry(
        term=term, index=index, kind=EntryKind.COMMAND, data=data or b"%d/%d" % (term, index)
    )


def log_of(*terms: int) -> SimLog:
    log = SimLog()
    log.append([entry(t, i) for i, t in enumerate(terms, start=1)])
    return log


@dataclass
class Status:
    term: int = 1
    commit_index: int = 0
    applied_index: int = 0
    last_index: int = 0
    snapshot_index: int = 0


def test_election_safety_allows_one_leader_per_term() -> None:
    checker = ElectionSafety()
    checker.on_role(1, 3, Role.LEADER, SimLog())
    checker.on_role(1, 3, Role.LEADER, SimLog())
    checker.on_role(2, 4, Role.LEADER, SimLog())
    checker.on_role(2, 3, Role.FOLLOWER, SimLog())
    with pytest.raises(SafetyViolation, match="two leaders in term 3"):
        checker.on_role(2, 3, Role.LEADER, SimLog())


def test_log_matching_accepts_equal_entries_in_two_logs() -> None:
    checker = LogMatching()
    a, b = log_of(1, 1, 2), log_of(1, 1, 2)
    checker.on_log_write(1, a, a.entries, [])
    checker.on_log_write(2, b, b.entries, [])


def test_log_matching_rejects_different_data_at_one_index_and_term() -> None:
    checker = LogMatching()
    a = log_of(1, 1)
    checker.on_log_write(1, a, a.entries, [])
    b = SimLog()
    b.append([entry(1, 1), entry(1, 2, b"other")])
    with pytest.raises(SafetyViolation, match="differs"):
        checker.on_log_write(2, b, b.entries, [])


def test_log_matching_rejects_an_equal_entry_after_a_different_prefix() -> None:
    checker = LogMatching()
    a = log_of(1, 3)
    checker.on_log_write(1, a, a.entries, [])
    b = log_of(2)
    checker.on_log_write(2, b, b.entries, [])
    new = [entry(3, 2, a.entries[1].data)]
    b.append(new)
    with pytest.raises(SafetyViolation, match="follows term 2"):
        checker.on_log_write(2, b, new, [])


def test_log_matching_rejects_decreasing_terms() -> None:
    checker = LogMatching()
    log = SimLog()
    log.append([entry(2, 1), entry(1, 2)])
    with pytest.raises(SafetyViolation, match="terms decrease"):
        checker.on_log_write(1, log, log.entries, [])


def test_state_machine_safety_rejects_a_different_entry_at_an_applied_index() -> None:
    checker = StateMachineSafety()
    checker.on_apply(1, 1, entry(1, 1))
    checker.on_apply(2, 1, entry(1, 1))
    with pytest.raises(SafetyViolation, match="another node applied"):
        checker.on_apply(3, 2, entry(2, 1))


def test_state_machine_safety_rejects_gaps_and_accepts_a_restore() -> None:
    checker = StateMachineSafety()
    checker.on_apply(1, 1, entry(1, 1))
    with pytest.raises(SafetyViolation, match="expected 2"):
        checker.on_apply(1, 1, entry(1, 3))
    checker.on_restore(2, 5)
    checker.on_apply(2, 1, entry(1, 6))


def test_leader_completeness_rejects_a_new_leader_missing_a_committed_entry() -> None:
    applied = StateMachineSafety()
    checker = LeaderCompleteness(applied)
    applied.on_apply(1, 1, entry(1, 1))
    applied.on_apply(1, 1, entry(1, 2))
    checker.on_role(2, 2, Role.LEADER, log_of(1, 1, 2))
    with pytest.raises(SafetyViolation, match="committed in an earlier term"):
        checker.on_role(3, 3, Role.LEADER, log_of(1))


def test_leader_completeness_does_not_blame_a_leader_for_a_later_commit() -> None:
    applied = StateMachineSafety()
    checker = LeaderCompleteness(applied)
    applied.on_apply(1, 4, entry(1, 1))
    checker.on_role(3, 3, Role.LEADER, SimLog())


def test_leader_completeness_checks_current_leaders_when_an_entry_commits() -> None:
    applied = StateMachineSafety()
    checker = LeaderCompleteness(applied)
    checker.on_role(3, 5, Role.LEADER, log_of(1))
    applied.on_restore(1, 1)
    late = entry(2, 2)
    applied.on_apply(1, 2, late)
    with pytest.raises(SafetyViolation, match="leader 3 of term 5"):
        checker.on_apply(1, 2, late)


def test_committed_entries_cannot_be_overwritten_or_truncated() -> None:
    applied = StateMachineSafety()
    checker = CommittedEntries(applied)
    applied.on_apply(1, 1, entry(1, 1))
    applied.on_apply(1, 1, entry(1, 2))
    log = log_of(1, 1)
    removed = log.append([entry(1, 2)])
    checker.on_log_write(2, log, [entry(1, 2)], removed)
    removed = log.append([entry(2, 2)])
    with pytest.raises(SafetyViolation, match="over the committed"):
        checker.on_log_write(2, log, [entry(2, 2)], removed)
    log = log_of(1, 1, 1)
    removed = log.append([entry(1, 2)])
    checker.on_log_write(2, log, [entry(1, 2)], removed)
    removed = log.append([entry(2, 1)])
    with pytest.raises(SafetyViolation, match="over the committed"):
        checker.on_log_write(2, log, [entry(2, 1)], removed)


def test_a_lagging_follower_may_write_another_entry_at_a_committed_index() -> None:
    applied = StateMachineSafety()
    checker = CommittedEntries(applied)
    applied.on_apply(1, 7, entry(7, 1))
    log = SimLog()
    new = [entry(6, 1)]
    checker.on_log_write(4, log, new, log.append(new))


def test_committed_entries_cannot_be_truncated_away() -> None:
    applied = StateMachineSafety()
    checker = CommittedEntries(applied)
    applied.on_apply(1, 1, entry(1, 1))
    applied.on_apply(1, 1, entry(1, 2))
    log = log_of(1, 1)
    log.entries.pop()
    with pytest.raises(SafetyViolation, match="truncated the committed"):
        checker.on_log_write(2, log, [], [entry(1, 2)])


def test_monotonic_rejects_going_back_within_an_incarnation() -> None:
    checker = Monotonic()
    checker.on_status(1, 1, Status(term=2, commit_index=5, applied_index=4), 0)
    with pytest.raises(SafetyViolation, match="commit index went back"):
        checker.on_status(1, 1, Status(term=2, commit_index=4, applied_index=4), 0)


def test_monotonic_allows_volatile_indexes_to_restart_but_not_the_durable_term() -> None:
    checker = Monotonic()
    checker.on_status(1, 1, Status(term=3, commit_index=5, applied_index=5), 0)
    checker.on_crash(1, durable_term=3)
    checker.on_status(1, 2, Status(term=3, commit_index=0, applied_index=0), 0)
    checker.on_crash(1, durable_term=3)
    with pytest.raises(SafetyViolation, match="below its durable term"):
        checker.on_status(1, 3, Status(term=2), 0)


@pytest.mark.parametrize(
    ("purged", "status"),
    [
        (3, Status(snapshot_index=2, applied_index=4, commit_index=5, last_index=6)),
        (0, Status(snapshot_index=5, applied_index=4, commit_index=5, last_index=6)),
        (0, Status(snapshot_index=0, applied_index=6, commit_index=5, last_index=6)),
        (0, Status(snapshot_index=0, applied_index=4, commit_index=7, last_index=6)),
    ],
    ids=["purged>snapshot", "snapshot>applied", "applied>commit", "commit>last"],
)
def test_index_order_rejects_each_inversion(purged: int, status: Status) -> None:
    with pytest.raises(SafetyViolation, match="out of order"):
        IndexOrder().on_status(1, 1, status, purged)


def test_index_order_accepts_a_sane_node() -> None:
    IndexOrder().on_status(
        1, 1, Status(snapshot_index=2, applied_index=4, commit_index=5, last_index=6), 2
    )


@pytest.mark.parametrize(
    "durable", [1, 5], ids=["store-below-the-log-base", "store-beyond-the-durable-log"]
)
def test_state_store_bounds_reject_a_store_outside_its_log(durable: int) -> None:
    log = log_of(1, 1, 1, 1)
    log.compact(SnapshotMeta(2, 1, EMPTY_MEMBERSHIP))
    with pytest.raises(SafetyViolation, match="outside its durable log"):
        StateStoreBounds().on_state_store(1, durable, log)


def test_state_store_bounds_accept_a_store_within_its_log() -> None:
    log = log_of(1, 1, 1, 1)
    log.compact(SnapshotMeta(2, 1, EMPTY_MEMBERSHIP))
    for durable in (2, 3, 4):
        StateStoreBounds().on_state_store(1, durable, log)


def test_checker_set_dispatches_to_every_checker_that_cares() -> None:
    checkers = CheckerSet()
    checkers.on_role(1, 1, Role.LEADER, SimLog())
    with pytest.raises(SafetyViolation) as caught:
        checkers.on_role(2, 1, Role.LEADER, SimLog())
    assert caught.value.checker == "election-safety"
    checkers.on_apply(1, 1, entry(1, 1))
    with pytest.raises(SafetyViolation) as caught:
        checkers.on_apply(2, 1, entry(9, 1))
    assert caught.value.checker == "state-machine-safety"


def test_commit_rule_rejects_a_leader_moving_commit_onto_an_old_term_entry() -> None:
    checker = CommitRule()
    log = log_of(1, 1, 2, 2)
    checker.on_leader_commit(1, 2, 1, log)
    checker.on_leader_commit(1, 2, 4, log)
    with pytest.raises(SafetyViolation, match="an entry of term 1"):
        checker.on_leader_commit(2, 3, 1, log_of(1, 1, 3))
        checker.on_leader_commit(2, 3, 2, log_of(1, 1, 3))


def test_commit_rule_ignores_what_a_new_leader_learned_as_a_follower() -> None:
    checker = CommitRule()
    checker.on_leader_commit(1, 2, 3, log_of(1, 1, 1, 2))
    checker.on_crash(1, 2)
    checker.on_leader_commit(1, 2, 3, log_of(1, 1, 1, 2))


# -- snapshot contents ------------------------------------------------------------------------

CONFIG = Membership((frozenset({1}),), {1: NodeInfo("a")})


def applied_history(*values: str) -> tuple[SnapshotContents, list[bytes]]:
    """A configuration entry at 1, then one put per value, applied by node 1; returns the
    checker and the state after each index (the first at index 1)."""
    applied = StateMachineSafety()
    checker = SnapshotContents(applied)
    state = KvStateMachine()
    entries = [Entry(1, 1, EntryKind.MEMBERSHIP, encode_membership(CONFIG))]
    entries += [put_entry(2, index, value) for index, value in enumerate(values, start=2)]
    states = []
    for e in entries:
        applied.on_apply(1, e.term, e)
        state.apply_entries([e])
        states.append(state.snapshot())
    return checker, states


def put_entry(term: int, index: int, value: str) -> Entry:
    return Entry(term, index, EntryKind.COMMAND, encode_command(Put("k", value, "c", index)))


def test_snapshot_contents_accept_the_state_the_committed_prefix_builds_at_any_index() -> None:
    checker, states = applied_history("a", "b", "c")
    checker.on_snapshot(1, SnapshotMeta(3, 2, CONFIG, 1), states[2])
    checker.on_snapshot(2, SnapshotMeta(4, 2, CONFIG, 1), states[3])  # newer than asked
    checker.on_snapshot(3, SnapshotMeta(1, 1, CONFIG, 1), states[0])


@pytest.mark.parametrize(
    ("meta", "state_at", "message"),
    [
        pytest.param(SnapshotMeta(3, 2, CONFIG, 1), 4, "holds the state at 4", id="newer-state"),
        pytest.param(SnapshotMeta(3, 1, CONFIG, 1), 3, "names term 1", id="wrong-term"),
        pytest.param(SnapshotMeta(3, 2, CONFIG, 0), 3, "configuration at 0", id="config-index"),
        pytest.param(
            SnapshotMeta(3, 2, EMPTY_MEMBERSHIP, 1), 3, "another configuration", id="config"
        ),
        pytest.param(SnapshotMeta(5, 2, CONFIG, 1), 5, "no node has applied index 5", id="gap"),
    ],
)
def test_snapshot_contents_reject_a_meta_that_does_not_name_the_state(
    meta: SnapshotMeta, state_at: int, message: str
) -> None:
    checker, states = applied_history("a", "b", "c")
    data = states[min(state_at, len(states)) - 1]
    with pytest.raises(SafetyViolation, match=message):
        checker.on_snapshot(1, meta, data)


def test_snapshot_contents_reject_other_data_at_the_right_index() -> None:
    checker, _ = applied_history("a", "b", "c")
    _, other = applied_history("a", "x", "c")
    with pytest.raises(SafetyViolation, match=r"other data than the committed entries 1\.\.4"):
        checker.on_snapshot(1, SnapshotMeta(4, 2, CONFIG, 1), other[3])
