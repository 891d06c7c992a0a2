"""Snapshots, compaction and catching up by snapshot installation (thesis §5)."""

from __future__ import annotations

import pytest

from raftkv.core import (
    AppendRequest,
    Compacted,
    Entry,
    EntryKind,
    RawNode,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
)

from .harness import bootstrap


def test_snapshot_meta_carries_term_and_membership() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"a")
    cluster.run(30)
    status = cluster.nodes[0].status()
    meta = cluster.nodes[0].snapshot_meta(status.applied_index)
    assert meta.last_index == status.applied_index and meta.last_term == 1
    assert meta.membership == status.committed_membership
    assert meta.membership_index == status.committed_membership_index


def test_compacted_index_raises() -> None:
    cluster = bootstrap([0, 1])
    cluster.nodes[0].propose(b"a")
    cluster.run(30)
    meta = cluster.take_snapshot(0)
    assert cluster.nodes[0].status().snapshot_index == meta.last_index
    with pytest.raises(Compacted):
        cluster.nodes[0].snapshot_meta(meta.last_index - 1)


def test_lagging_follower_catches_up_by_snapshot() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(2)
    for i in range(10):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(50)
    meta = cluster.take_snapshot(0)
    cluster.nodes[0].propose(b"after")
    cluster.run(30)
    cluster.restart(2)
    cluster.sent.clear()
    cluster.run(200)
    snaps = [m for m in cluster.sent if isinstance(m, SnapshotRequest)]
    assert len(snaps) == 1 and snaps[0].to == 2 and snaps[0].meta == meta
    assert cluster.commands(2) == [b"x%d" % i for i in range(10)] + [b"after"]
    status = cluster.nodes[2].status()
    assert status.snapshot_index == meta.last_index
    assert status.membership == meta.membership


def test_no_appends_while_snapshot_in_flight_then_retry_after_timeout() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(2)
    for i in range(3):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(30)
    cluster.take_snapshot(0)
    cluster.restart(2)
    cluster.tick(cluster.config.heartbeat_interval)
    # Its match (6) is compacted: the heartbeat probe becomes a snapshot, which is lost.
    cluster.deliver(keep=lambda m: not isinstance(m, SnapshotRequest))
    assert cluster.nodes[0].status().progress[2].state == "snapshot"
    cluster.nodes[0].propose(b"more")
    cluster.process()
    assert not [
        m for m in cluster.queue if isinstance(m, AppendRequest) and m.to == 2 and m.entries
    ]
    cluster.run(3 * cluster.config.election_timeout_max)
    assert cluster.commands(2) == [b"x0", b"x1", b"x2", b"more"]


def follower_with_log() -> RawNode:
    cluster = bootstrap([0, 1])
    for i in range(4):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(30)
    return cluster.nodes[1]


def test_snapshot_at_or_below_commit_is_acknowledged_and_ignored() -> None:
    follower = follower_with_log()
    status = follower.status()
    meta = SnapshotMeta(status.commit_index, 1, status.membership, status.membership_index)
    follower.step(SnapshotRequest(1, 0, 1, meta, seq=77))
    rd = follower.ready()
    assert rd.snapshot is None
    assert rd.persisted_messages == [SnapshotResponse(1, 1, 0, meta.last_index, 77)]


def test_install_keeps_matching_suffix() -> None:
    follower = follower_with_log()
    status = follower.status()
    last = status.last_index
    extra = tuple(Entry(1, last + i, EntryKind.COMMAND, b"e%d" % i) for i in (1, 2, 3))
    follower.step(AppendRequest(1, 0, 1, last, 1, extra, status.commit_index, 90))
    meta = SnapshotMeta(last + 1, 1, status.membership, status.membership_index)
    follower.step(SnapshotRequest(1, 0, 1, meta, 91, b"snap"))
    rd = follower.ready()
    assert rd.snapshot is not None and rd.snapshot.meta == meta and rd.snapshot.data == b"snap"
    assert [e.index for e in rd.entries] == [last + 2, last + 3]
    assert rd.persisted_messages[-1] == SnapshotResponse(1, 1, 0, last + 1, 91)
    follower.advance(rd)
    after = follower.status()
    assert after.snapshot_index == last + 1 and after.last_index == last + 3
    assert after.applied_index == last + 1 and after.commit_index == last + 1


def test_install_discards_conflicting_log() -> None:
    follower = follower_with_log()
    status = follower.status()
    last = status.last_index
    extra = tuple(Entry(1, last + i, EntryKind.COMMAND, b"e%d" % i) for i in (1, 2))
    follower.step(AppendRequest(1, 0, 1, last, 1, extra, status.commit_index, 90))
    meta = SnapshotMeta(last + 1, 2, status.membership, status.membership_index)
    follower.step(SnapshotRequest(2, 0, 1, meta, 91))
    rd = follower.ready()
    assert rd.snapshot is not None and rd.entries == []
    follower.advance(rd)
    assert follower.status().last_index == last + 1


def test_compaction_keeps_working_after_restart() -> None:
    cluster = bootstrap([0, 1, 2])
    for i in range(5):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(30)
    for node_id in cluster.ids:
        cluster.take_snapshot(node_id)
    cluster.crash(0)
    cluster.restart(0)
    cluster.run(500)
    leader = cluster.leader()
    cluster.nodes[leader].propose(b"y")
    cluster.run(50)
    assert all(cluster.commands(i) == [b"x%d" % i for i in range(5)] + [b"y"] for i in cluster.ids)
