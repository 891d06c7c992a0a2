"""Storage: the durable log store, hard state, snapshots and node identity.

Public surface: `DurableStore` (the log, hard state and snapshots of one node),
`load_or_create_identity` / `Identity` (whose data directory this is), and the errors
`StorageError` (disk or filesystem trouble, naming the path) and `IdentityMismatch`.
"""

from .errors import IdentityMismatch, StorageError
from .identity import Identity, load_or_create_identity
from .store import DurableStore

__all__ = [
    "DurableStore",
    "Identity",
    "IdentityMismatch",
    "StorageError",
    "load_or_create_identity",
]
