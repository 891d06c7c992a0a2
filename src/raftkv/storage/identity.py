"""The node's identity on disk: which node id a data directory belongs to, and which
incarnation of that storage it is (DESIGN.md, "Identity").

`storage_id` changes only when the data directory is wiped, so peers can tell a node that
lost its log from the one they knew, and refuse it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

from .durable_files import make_dirs_durably, write_file_durably
from .errors import IdentityMismatch, StorageError

IDENTITY_FILE = "identity.json"


class Identity(msgspec.Struct, frozen=True):
    node_id: int
    storage_id: str
    """A random uuid4 hex, drawn when the data directory was first used."""


def load_or_create_identity(data_dir: Path, node_id: int) -> Identity:
    """The identity stored in `data_dir`, created (durably) on first start.

    Raises `IdentityMismatch` when the directory belongs to another node id and
    `StorageError` when the directory or the file is unusable.
    """
    return load_identity(data_dir, node_id) or create_identity(data_dir, node_id)


def load_identity(data_dir: Path, node_id: int) -> Identity | None:
    """The identity stored in `data_dir` (created if missing), or None if it has none yet.

    The node creates it only after its log database exists (see `data_dir.py`: an identity
    then always has a log beside it). Raises like `load_or_create_identity`.
    """
    make_dirs_durably(data_dir)
    path = data_dir / IDENTITY_FILE
    if not path.exists():
        return None
    identity = _read_identity(path)
    if identity.node_id != node_id:
        raise IdentityMismatch(str(path), identity.node_id, node_id)
    return identity


def create_identity(data_dir: Path, node_id: int) -> Identity:
    """Draw a new storage id for `data_dir` and write it durably."""
    identity = Identity(node_id=node_id, storage_id=uuid.uuid4().hex)
    write_file_durably(data_dir / IDENTITY_FILE, msgspec.json.encode(identity))
    return identity


def _read_identity(path: Path) -> Identity:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return msgspec.json.decode(raw, type=Identity)
    except msgspec.DecodeError as exc:
        raise StorageError(f"{path} is not a valid identity file: {exc}") from exc
