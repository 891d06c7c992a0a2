"""identity.json: created once, durably; a mismatching node id or an unusable directory is refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from raftkv.storage import Identity, IdentityMismatch, StorageError, load_or_create_identity


def test_first_start_creates_the_directory_and_identity(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "node-3"
    identity = load_or_create_identity(data_dir, 3)
    assert identity.node_id == 3
    assert uuid.UUID(hex=identity.storage_id).version == 4
    stored = json.loads((data_dir / "identity.json").read_text())
    assert stored == {"node_id": 3, "storage_id": identity.storage_id}
    assert [p.name for p in data_dir.iterdir()] == ["identity.json"]  # no temp file left


def test_restart_keeps_the_identity(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path, 1)
    assert load_or_create_identity(tmp_path, 1) == first


def test_wiped_directory_gets_a_new_storage_id(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path / "a", 1)
    second = load_or_create_identity(tmp_path / "b", 1)
    assert first.storage_id != second.storage_id


def test_another_node_id_is_a_mismatch_naming_both_ids(tmp_path: Path) -> None:
    load_or_create_identity(tmp_path, 1)
    with pytest.raises(IdentityMismatch, match=r"node 1.*node 2") as raised:
        load_or_create_identity(tmp_path, 2)
    assert (raised.value.stored_node_id, raised.value.configured_node_id) == (1, 2)


def test_stray_temp_file_from_a_crashed_creation_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "identity.json.tmp").write_bytes(b'{"node_id": 9, "stor')
    assert load_or_create_identity(tmp_path, 4).node_id == 4


def path_is_a_file(root: Path) -> Path:
    (root / "node").write_text("a file")
    return root / "node"


def parent_is_a_file(root: Path) -> Path:
    (root / "blocker").write_text("a file")
    return root / "blocker" / "node"


def corrupt_identity(root: Path) -> Path:
    (root / "node").mkdir()
    (root / "node" / "identity.json").write_text("{nope")
    return root / "node"


def identity_of_wrong_shape(root: Path) -> Path:
    (root / "node").mkdir()
    (root / "node" / "identity.json").write_text('{"node_id": "x"}')
    return root / "node"


@pytest.mark.parametrize(
    "make_unusable", [path_is_a_file, parent_is_a_file, corrupt_identity, identity_of_wrong_shape]
)
def test_unusable_directory_is_a_storage_error_naming_the_path(
    tmp_path: Path, make_unusable: Callable[[Path], Path]
) -> None:
    data_dir = make_unusable(tmp_path)
    with pytest.raises(StorageError, match=str(data_dir)):
        load_or_create_identity(data_dir, 1)


def test_identity_is_a_frozen_struct() -> None:
    identity = Identity(node_id=1, storage_id="abc")
    with pytest.raises(AttributeError):
        identity.node_id = 2  # type: ignore[misc]
