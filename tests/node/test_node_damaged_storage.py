"""A data directory that lost part of what it promised is refused at start, never reset.

A voter of a three-node cluster is stopped, its directory damaged one way, and started: it
exits 2 with one line naming the file and the way to recover, every file it had is still
there byte for byte, and the two others still commit. The directory restored, it rejoins.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
from node_harness import Cluster, NodeProcess, call, make_cluster, wait_for, write

from raftkv.storage.snapshot_files import decode_snapshot, encode_snapshot

pytestmark = pytest.mark.e2e

KEYS = 24


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = make_cluster(tmp_path_factory.mktemp("damaged"), 3, snapshot_threshold=5)
    try:
        cluster.start_all()
        cluster.form()
        leader = cluster.leader()
        for n in range(KEYS):
            assert write(leader.addr, f"k{n}", f"v{n}", n + 1)[0] == 200
        yield cluster
    finally:
        cluster.stop_all()


def data_dir(node: NodeProcess) -> Path:
    return node.workdir / f"raftkv-data-{node.node_id}"


def snapshot_file(directory: Path) -> Path:
    files = sorted((directory / "snapshots").glob("snap-*.bin"))
    assert files, "the node took no snapshot"
    return files[-1]


def remove_log(directory: Path) -> Path:
    for name in ("raft.sqlite3", "raft.sqlite3-wal", "raft.sqlite3-shm"):
        (directory / name).unlink(missing_ok=True)
    return directory / "raft.sqlite3"


def empty_log(directory: Path) -> Path:
    (directory / "raft.sqlite3").write_bytes(b"")
    return directory / "raft.sqlite3"


def remove_identity(directory: Path) -> Path:
    (directory / "identity.json").unlink()
    return directory / "identity.json"


def remove_identity_and_log(directory: Path) -> Path:
    remove_log(directory)
    return remove_identity(directory)


def remove_snapshot(directory: Path) -> Path:
    path = snapshot_file(directory)
    path.unlink()
    return path


def corrupt_snapshot(directory: Path) -> Path:
    path = snapshot_file(directory)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def other_snapshot(directory: Path) -> Path:
    """A whole snapshot file, but of another (term, index) than the log records."""
    path = snapshot_file(directory)
    meta, data = decode_snapshot(path.read_bytes(), path)
    other = msgspec.structs.replace(meta, last_index=meta.last_index - 1)
    path.write_bytes(encode_snapshot(other, data))
    return path


DAMAGES: dict[str, Callable[[Path], Path]] = {
    "log-missing": remove_log,
    "log-empty": empty_log,
    "identity-missing": remove_identity,
    "identity-and-log-missing": remove_identity_and_log,
    "snapshot-missing": remove_snapshot,
    "snapshot-corrupt": corrupt_snapshot,
    "snapshot-of-another-index": other_snapshot,
}


def contents(directory: Path) -> dict[str, bytes]:
    """Every file's bytes but sqlite's shared-memory index (a reader may create it)."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm") and path.name != "lock"
    }


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_directory_is_refused_and_kept(cluster: Cluster, damage: str) -> None:
    node = cluster.node(2)
    directory = data_dir(node)
    node.signal(15)
    assert node.wait_exit(10) == 0
    backup = directory.with_name(directory.name + ".backup")
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(directory, backup)
    try:
        named = DAMAGES[damage](directory)
        before = contents(directory)
        log_size = node.log_path.stat().st_size
        node.start(wait=False)
        assert node.wait_exit(20) == 2
        output = node.log_path.read_bytes()[log_size:].decode().strip().splitlines()
        assert len(output) == 1, output
        line = output[0]
        assert line.startswith("raftkv-node: data_dir: "), line
        assert str(named) in line and f"wipe {directory}" in line, line
        assert "new member" in line, line
        after = contents(directory)
        assert after.keys() >= before.keys(), "a file was deleted"
        changed = [
            name for name in before if not name.endswith("-wal") and after[name] != before[name]
        ]
        assert not changed, f"refusing changed {changed}"

        leader = cluster.leader(exclude=2)
        serial = 1000 + list(DAMAGES).index(damage)
        assert write(leader.addr, f"during-{damage}", "x", serial)[0] == 200
    finally:
        shutil.rmtree(directory)
        shutil.copytree(backup, directory)
        shutil.rmtree(backup)
    node.start()
    wait_for(
        lambda: node.kv().get(f"during-{damage}") == "x" and len(node.kv()) >= KEYS,
        20,
        "the restored node caught up",
    )


def test_an_intact_directory_restarts_with_its_data(cluster: Cluster) -> None:
    """The control: the same stop and start without damage comes back with every key."""
    node = cluster.node(2)
    node.signal(15)
    assert node.wait_exit(10) == 0
    assert list((data_dir(node) / "snapshots").glob("snap-*.bin"))
    node.start()
    wait_for(lambda: len(node.kv()) >= KEYS, 20, "keys back after a clean restart")
    assert call(node.addr, "GET", "/healthz")[0] == 200
