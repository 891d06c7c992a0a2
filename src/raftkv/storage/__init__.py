"""Storage: the durable log store, hard state, snapshots and node identity.

Public surface: `DurableStore` (the log, hard state and snapshots of one node),
`load_or_create_identity` / `load_identity` / `create_identity` / `Identity` (whose data
directory this is), `check_data_directory` (refuses a directory that lost its log or its
identity), and the errors `StorageError` (disk or filesystem trouble, naming the path),
`DamagedStorage` (a directory refused at start) and `IdentityMismatch`.
"""

from .data_dir import check_data_directory
from .errors import DamagedStorage, IdentityMismatch, StorageError
from .identity import Identity, create_identity, load_identity, load_or_create_identity
from .store import DurableStore

__all__ = [
    "DamagedStorage",
    "DurableStore",
    "Identity",
    "IdentityMismatch",
    "StorageError",
    "check_data_directory",
    "create_identity",
    "load_identity",
    "load_or_create_identity",
]
