"""The client oracle: how each operation's outcome follows from what the node did."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from raftkv.core import Entry, EntryKind, NotLeader, ReadState
from raftkv.kv import KvResult, KvStateMachine
from raftkv.sim.clients import Clients, Workload
from raftkv.sim.history import OpRecord


@dataclass
class FakeCore:
    term: int = 2
    next_index: int = 10
    leader: bool = True
    hint: int | None = None
    proposals: list[bytes] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)

    def propose(self, data: bytes) -> tuple[int, int]:
        if not self.leader:
            raise NotLeader(self.hint)
        self.proposals.append(data)
        self.next_index += 1
        return self.term, self.next_index - 1

    def read_index(self, ctx: int) -> None:
        self.reads.append(ctx)


@dataclass
class FakeNode:
    id: int
    core: FakeCore = field(default_factory=FakeCore)
    sm: KvStateMachine = field(default_factory=KvStateMachine)
    applied: int = 0


def one_client(read_ratio: float) -> Clients:
    return Clients(random.Random(1), Workload(clients=1, read_ratio=read_ratio))


def only_op(clients: Clients) -> OpRecord:
    assert len(clients.history.ops) == 1
    return clients.history.ops[0]


def test_a_write_is_ok_when_its_entry_is_applied_with_its_term() -> None:
    clients, node = one_client(0.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    data = node.core.proposals[0]
    clients.on_applied(node, Entry(2, 10, EntryKind.COMMAND, data), KvResult(ok=True))
    op = only_op(clients)
    assert (op.kind, op.outcome) == ("write", "ok") and op.complete is not None


def test_a_write_fails_when_its_index_is_applied_with_another_term() -> None:
    clients, node = one_client(0.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    clients.on_applied(node, Entry(3, 10, EntryKind.BLANK), None)
    assert only_op(clients).outcome == "fail"


def test_a_write_follows_one_leader_hint_then_fails() -> None:
    clients = one_client(0.0)
    follower = FakeNode(0, FakeCore(leader=False, hint=1))
    leader = FakeNode(1)
    clients.issue({0: follower, 1: leader}, now=0, rate=1.0)
    assert len(leader.core.proposals) == 1 and only_op(clients).outcome is None
    lost = one_client(0.0)
    lost.issue({0: FakeNode(0, FakeCore(leader=False, hint=None))}, now=0, rate=1.0)
    assert only_op(lost).outcome == "fail"


def test_a_crash_or_deadline_makes_the_outcome_unknown_and_the_client_a_new_process() -> None:
    clients, node = one_client(0.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    process = clients.clients[0].process
    clients.on_crash(0)
    op = only_op(clients)
    assert (op.outcome, op.complete) == ("info", None)
    assert clients.clients[0].process != process
    clients.issue({0: node}, now=0, rate=1.0)
    clients.act({0: node}, now=Workload().deadline_ms, issue=False)
    assert [op.outcome for op in clients.history.ops] == ["info", "info"]


def test_a_read_returns_the_value_once_the_read_index_is_applied() -> None:
    clients, node = one_client(1.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    ctx = node.core.reads[0]
    op = only_op(clients)
    node.sm.kv[op.key] = "v9"
    clients.on_read_state(node, ReadState(ctx, index=5, ok=True))
    assert op.outcome is None
    node.applied = 5
    clients.on_progress(node)
    assert (op.outcome, op.value) == ("ok", "v9")


def test_a_read_fails_when_leadership_is_not_confirmed() -> None:
    clients, node = one_client(1.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    clients.on_read_state(node, ReadState(node.core.reads[0], index=0, ok=False, leader_id=2))
    assert only_op(clients).outcome == "fail"
    assert clients.clients[0].leader_hint == 2


def test_a_snapshot_past_a_pending_write_makes_it_unknown() -> None:
    clients, node = one_client(0.0), FakeNode(0)
    clients.issue({0: node}, now=0, rate=1.0)
    clients.on_snapshot(node, 12)
    assert only_op(clients).outcome == "info"
