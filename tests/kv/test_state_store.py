"""The on-disk state store against the in-memory state machine, and its files."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from raftkv.core import Entry, EntryKind, Membership, NodeInfo
from raftkv.core.membership import encode_membership
from raftkv.kv import KvStateMachine, Put, StateStore, StateStoreError, encode_command
from raftkv.kv.state_files import (
    SnapshotInvalid,
    checkpoint,
    copy_state,
    install_state_file,
    verify_state_file,
)
from raftkv.kv.state_store import prefix_end


def command(index: int, key: str, value: str, client: str, serial: int) -> Entry:
    return Entry(1, index, EntryKind.COMMAND, encode_command(Put(key, value, client, serial)))


def random_entries(seed: int, count: int) -> list[Entry]:
    """Writes, retries, conflicts, stale serials and per-key sessions, plus blank entries."""
    rng = random.Random(seed)
    serials: dict[str, int] = {}
    entries: list[Entry] = []
    for index in range(1, count + 1):
        if rng.random() < 0.05:
            entries.append(Entry(1, index, EntryKind.BLANK, b""))
            continue
        client = rng.choice(["", "a", "b", "c", "d", "e"])
        serial = serials.get(client, 0) + rng.choice([1, 1, 1, 0, -1])
        serials[client] = max(serial, serials.get(client, 0))
        key = f"k{rng.randrange(20)}"
        entries.append(command(index, key, f"v{rng.randrange(5)}", client, serial))
    return entries


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.sqlite3", max_sessions=3)


@pytest.mark.parametrize("seed", range(5))
def test_store_and_memory_apply_alike(store: StateStore, seed: int) -> None:
    memory = KvStateMachine(max_sessions=3)
    entries = random_entries(seed, 400)
    for start in range(0, len(entries), 17):
        batch = entries[start : start + 17]
        assert store.apply_entries(batch) == memory.apply_entries(batch)
    assert store.applied_index == memory.applied_index == 400
    assert store.digest.value == memory.digest.value
    assert dict(store.scan("", None, 1000)) == memory.kv
    assert store.key_count == len(memory.kv)
    assert store.session_count() == memory.session_count() == 3


def test_digest_is_order_independent_and_detects_a_change(tmp_path: Path) -> None:
    one, two = KvStateMachine(), KvStateMachine()
    one.apply_entries([command(1, "x", "1", "a", 1), command(2, "y", "2", "b", 1)])
    two.apply_entries([command(1, "y", "2", "b", 1), command(2, "x", "1", "a", 1)])
    assert one.digest.value == two.digest.value
    two.apply_entries([command(3, "x", "changed", "a", 2)])
    assert one.digest.value != two.digest.value


def test_restart_resumes_from_what_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = StateStore(path)
    store.apply_entries(random_entries(7, 100))
    digest, applied = store.digest.value, store.applied_index
    store.close()
    again = StateStore(path)
    assert (again.applied_index, again.digest.value) == (applied, digest)
    assert again.apply_entries(random_entries(7, 100)) == []  # already held: skipped


def test_scan_pages_through_a_prefix_in_key_order(store: StateStore) -> None:
    keys = ["a", "ab", "abc", "abd", "ac", "b", "ab\U0010ffff", "ab\U0010ffffz"]
    store.apply_entries([command(i + 1, key, "v", "", 1) for i, key in enumerate(keys)])
    assert [k for k, _ in store.scan("ab", None, 10)] == [
        "ab",
        "abc",
        "abd",
        "ab\U0010ffff",
        "ab\U0010ffffz",
    ]
    assert [k for k, _ in store.scan("ab", "abc", 2)] == ["abd", "ab\U0010ffff"]
    assert [k for k, _ in store.scan("", "ac", 10)] == ["b"]


@pytest.mark.parametrize(
    ("prefix", "end"),
    [("", None), ("a", "b"), ("a\U0010ffff", "b"), ("\U0010ffff", None), ("\ud7ff", "\ue000")],
    ids=["empty", "ascii", "max-last", "only-max", "before-surrogates"],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


def test_copy_verify_install_round_trip(tmp_path: Path) -> None:
    source = StateStore(tmp_path / "a.sqlite3")
    source.apply_entries(random_entries(3, 200))
    source.commit()  # another connection reads it next
    assert checkpoint(source.path)
    assert not source.path.with_name("a.sqlite3-wal").stat().st_size
    copy = copy_state(source.path, tmp_path / "copy.sqlite3")
    assert copy.applied_index == 200
    verify_state_file(copy.path, 200, copy.sha256)
    target = StateStore(tmp_path / "b.sqlite3")
    target.apply_entries(random_entries(4, 50))
    target.close()  # commits
    install_state_file(copy.path, target.path)
    target.reopen()
    assert (target.applied_index, target.digest.value) == (200, source.digest.value)
    assert target.scan("", None, 1000) == source.scan("", None, 1000)


def test_verification_refuses_damaged_or_foreign_files(tmp_path: Path) -> None:
    source = StateStore(tmp_path / "a.sqlite3")
    source.apply_entries(random_entries(5, 50))
    source.commit()
    copy = copy_state(source.path, tmp_path / "copy.sqlite3")
    with pytest.raises(SnapshotInvalid, match="snapshot says 49"):
        verify_state_file(copy.path, 49, copy.sha256)
    raw = bytearray(copy.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.path.write_bytes(bytes(raw))
    with pytest.raises(SnapshotInvalid, match="checksum mismatch"):
        verify_state_file(copy.path, 50, copy.sha256)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a database" * 100)
    from raftkv.kv.state_files import file_sha256

    with pytest.raises(SnapshotInvalid):
        verify_state_file(garbage, 50, file_sha256(garbage))
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(SnapshotInvalid, match="not a raftkv state file"):
        verify_state_file(other, 0, file_sha256(other))


def test_batches_share_a_transaction_that_commits_before_others_read(tmp_path: Path) -> None:
    """Apply batches are committed late (a commit per batch of one cost 130 us); this
    connection reads its own writes at once, another sees them after `commit`."""
    store = StateStore(tmp_path / "state.sqlite3")
    store.apply_entries([command(1, "k", "v", "c", 1)])
    assert store.get("k") == "v"
    other = sqlite3.connect(tmp_path / "state.sqlite3")
    assert other.execute("SELECT count(*) FROM kv").fetchone()[0] == 0
    store.commit()
    assert other.execute("SELECT count(*) FROM kv").fetchone()[0] == 1
    store.apply_entries([command(2, "k", "w", "c", 2)])
    store.close()  # commits what is open
    assert other.execute("SELECT value FROM kv").fetchone()[0] == "w"


def test_a_failed_apply_is_final_and_leaves_the_last_commit(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    store.apply_entries([command(1, "k", "v", "c", 1)])
    store.commit()
    store.apply_entries([command(2, "k", "w", "c", 2)])
    broken = Entry(1, 3, EntryKind.COMMAND, b"\xc1 not a command")
    with pytest.raises(Exception):  # noqa: B017 - whatever the decoder raises
        store.apply_entries([broken])
    assert (store.applied_index, store.get("k")) == (1, "v")  # back at the last commit
    with pytest.raises(StateStoreError, match="an earlier apply failed"):
        store.apply_entries([command(3, "x", "y", "c", 3)])


def membership_entry(index: int, max_sessions: int) -> Entry:
    nodes = {1: NodeInfo(addr="127.0.0.1:1", storage_id="s1")}
    membership = Membership((frozenset({1}),), nodes, "c", max_sessions=max_sessions)
    return Entry(1, index, EntryKind.MEMBERSHIP, encode_membership(membership))


def test_the_clusters_max_sessions_wins_over_the_nodes_config(tmp_path: Path) -> None:
    """Two stores configured differently evict alike once the cluster fixed its value, and
    the value survives a restart (it is replicated state, in the meta row)."""
    history = [membership_entry(1, 2)] + [
        command(index, f"k{index}", "v", f"client-{index}", 1) for index in range(2, 6)
    ]
    stores = [
        StateStore(tmp_path / f"{name}.sqlite3", max_sessions=configured)
        for name, configured in (("small", 1), ("large", 100))
    ]
    for each in stores:
        each.apply_entries(history)
        each.commit()
    assert [s.session_count() for s in stores] == [2, 2]
    assert stores[0].digest.value == stores[1].digest.value
    stores[0].close()
    reopened = StateStore(tmp_path / "small.sqlite3", max_sessions=1)
    assert (reopened.cluster_max_sessions, reopened.max_sessions) == (2, 2)


def test_a_file_of_the_first_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 0), schema_version INTEGER NOT"
        " NULL, applied_index INTEGER NOT NULL, digest INTEGER NOT NULL, keys INTEGER NOT NULL,"
        " sessions INTEGER NOT NULL, value_bytes INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO meta VALUES (0, 1, 7, 0, 0, 0, 0)")
    conn.commit()
    conn.close()
    migrated = StateStore(path, max_sessions=5)
    assert (migrated.applied_index, migrated.cluster_max_sessions, migrated.max_sessions) == (
        7,
        0,
        5,
    )
