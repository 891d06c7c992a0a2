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
    make_dirs_durably(data_dir)
    path = data_dir / IDENTITY_FILE
    if path.exists():
        identity = _read_identity(path)
        if identity.node_id != node_id:
            raise IdentityMismatch(str(path), identity.node_id, node_id)
        return identity
    identity = Identity(node_id=node_id, storage_id=uuid.uuid4().hex)
    write_file_durably(path, msgspec.json.encode(identity))
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
