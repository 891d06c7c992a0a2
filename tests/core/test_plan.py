"""The plan of a Ready (`raftkv/core/plan.py`): the exact commands, in order, for real Readys.

Each row builds a situation with the harness, takes the node's next `Ready` and compares its
plan (`describe_plan`) with the expected lines. The rules each row defends are those of
`ready.py`: persist before you speak (thesis §3.8), apply only what is committed and durable,
a snapshot is installed only after it is the log's durable base, `advance` last.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from raftkv.core import (
    Core,
    Entry,
    EntryKind,
    RawNode,
    Ready,
    VoteRequest,
    describe_plan,
    plan_ready,
)
from raftkv.core.plan import PRODUCTION, ApplyPolicy

from .harness import FAST, Cluster, bootstrap, info


def step_queued(cluster: Cluster, to: set[int] | None = None) -> None:
    """Step the queued messages into their receivers (all, or those in `to`) without
    carrying out any Ready; the rest of the queue is dropped."""
    batch, cluster.queue = cluster.queue, []
    for msg in batch:
        if to is None or msg.to in to:
            cluster.nodes[msg.to].step(msg)


def leader_with_new_entry() -> Ready:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"x")
    return cluster.nodes[0].ready()


def follower_acking_an_append() -> Ready:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"x")
    cluster.handle_ready(0)
    step_queued(cluster, to={1})
    return cluster.nodes[1].ready()


def leader_applying_while_appending() -> Ready:
    """x (index 7) is committed by the followers' acks; y (index 8) is proposed before the
    next Ready, which therefore commits x and writes y."""
    cluster = bootstrap([0, 1, 2])
    leader = cluster.nodes[0]
    leader.propose(b"x")
    cluster.handle_ready(0)
    step_queued(cluster)
    cluster.handle_ready(1)
    cluster.handle_ready(2)
    step_queued(cluster)
    leader.propose(b"y")
    return leader.ready()


def learner_installing_a_snapshot() -> Ready:
    """A new learner joins after the leader compacted its log: it catches up by snapshot."""
    cluster = bootstrap([0, 1, 2], voters=[0, 1])
    cluster.nodes[0].propose(b"x")
    cluster.stabilize()
    cluster.take_snapshot(0)
    cluster.nodes[0].add_learner(2, info(2))
    for node_id in (0, 2, 0):  # probe, rejection, snapshot
        cluster.handle_ready(node_id)
        step_queued(cluster, to={2 - node_id})
    return cluster.nodes[2].ready()


def follower_granting_a_vote() -> Ready:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(0)
    cluster.now += FAST.election_timeout_min  # the lease of leader 0 has run out
    cluster.nodes[1].tick(cluster.now)
    cluster.nodes[1].step(VoteRequest(term=2, frm=2, to=1, last_log_index=6, last_log_term=1))
    return cluster.nodes[1].ready()


def leader_confirming_a_read() -> Ready:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].read_index(7)
    cluster.handle_ready(0)
    step_queued(cluster)
    cluster.handle_ready(1)
    cluster.handle_ready(2)
    step_queued(cluster)
    return cluster.nodes[0].ready()


PLANS = [
    pytest.param(
        leader_with_new_entry,
        [
            "send 0->1 App term=1 prev=1/6 commit=6 seq=13 [1/7:command]",
            "send 0->2 App term=1 prev=1/6 commit=6 seq=14 [1/7:command]",
            "persist entries 7..7",
            "advance",
        ],
        id="leader-sends-appends-before-its-own-persist",
    ),
    pytest.param(
        follower_acking_an_append,
        [
            "persist entries 7..7",
            "send-after-persist 1->0 AppResp term=1 ok match=7 seq=13",
            "advance",
        ],
        id="follower-acks-after-persist",
    ),
    pytest.param(
        leader_applying_while_appending,
        [
            "send 0->1 App term=1 prev=1/7 commit=7 seq=15 [1/8:command]",
            "send 0->2 App term=1 prev=1/7 commit=7 seq=16 [1/8:command]",
            "apply 7..7",
            "persist entries 8..8",
            "advance",
        ],
        id="entries-durable-before-are-applied-before-the-persist",
    ),
    pytest.param(
        learner_installing_a_snapshot,
        [
            "persist snapshot 1/6",
            "install 1/6",
            "send-after-persist 2->0 SnapResp term=1 last=6 seq=10",
            "advance",
        ],
        id="snapshot-installed-after-its-persist-and-nothing-applied-before",
    ),
    pytest.param(
        follower_granting_a_vote,
        [
            "soft Follower term=2 leader=None",
            "persist hard term=2 vote=2",
            "send-after-persist 1->2 VoteResp term=2 granted=True",
            "advance",
        ],
        id="vote-granted-after-its-hard-state-persisted",
    ),
    pytest.param(
        leader_confirming_a_read,
        ["read ctx=7 index=6 ok=True", "advance"],
        id="read-state-handed-out",
    ),
]


@pytest.mark.parametrize(("situation", "expected"), PLANS)
def test_plan_of_a_real_ready(situation: Callable[[], Ready], expected: list[str]) -> None:
    assert describe_plan(plan_ready(situation(), PRODUCTION)) == expected


def entries(first: int, last: int) -> list[Entry]:
    return [Entry(1, i, EntryKind.COMMAND, b"%d" % i) for i in range(first, last + 1)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(
            PRODUCTION,
            ["apply 4..4", "persist entries 5..6", "apply 5..5", "advance"],
            id="production-splits-at-the-first-written-index",
        ),
        pytest.param(
            ApplyPolicy(apply_before_persist=False),
            ["persist entries 5..6", "apply 4..5", "advance"],
            id="apply-after-persist-waits-for-all",
        ),
    ],
)
def test_committed_entries_this_ready_writes_are_applied_after_its_persist(
    policy: ApplyPolicy, expected: list[str]
) -> None:
    """NB: `RawNode` hands out only entries an earlier Ready made durable, so no real Ready
    commits what it writes (see `test_committed_entries_are_durable_first`); the plan still
    keeps the rule for a core that would."""
    rd = Ready(entries=entries(5, 6), committed=entries(4, 5))
    assert describe_plan(plan_ready(rd, policy)) == expected


def test_a_leader_counts_itself_toward_commit_only_at_advance() -> None:
    """A follower's ack arrives while the leader's own write is in flight: with 3 voters the
    leader's entry counts only after `advance`, so the commit index waits for it."""
    cluster = bootstrap([0, 1, 2])
    leader = cluster.nodes[0]
    leader.propose(b"x")
    rd = leader.ready()
    assert describe_plan(plan_ready(rd))[-2:] == ["persist entries 7..7", "advance"]
    cluster.queue.extend(rd.messages)  # the Send before the Persist
    step_queued(cluster, to={1})
    cluster.handle_ready(1)
    step_queued(cluster, to={0})
    assert leader.status().commit_index == 6
    cluster.disks[0].persist(rd)
    leader.advance(rd)
    assert leader.status().commit_index == 7


def test_raw_node_is_a_core() -> None:
    core: Core = RawNode(0, FAST, random.Random(1), 0)  # mypy checks the signatures
    members = {name for name in vars(Core) if not name.startswith("_")}
    assert {"ready", "advance", "node_id", "snapshot_meta", "compact"} <= members
    assert sorted(members - set(dir(RawNode))) == []
    assert core.node_id == 0
