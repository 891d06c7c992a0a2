"""Errors of the storage layer, split by whose fault they are.

`StorageError` is outside circumstances (the disk, the filesystem, sqlite) and always names the
path involved. `IdentityMismatch` is the operator's: the data directory belongs to another node.
A caller that breaks the log's shape (a gap, a rewrite of compacted entries) gets `ValueError`.
"""

from __future__ import annotations

from raftkv.core.errors import RaftKVError


class StorageError(RaftKVError):
    """The durable store cannot read or write its files; the message names the path.

    After a failed write the store refuses every later call: the state on disk is no longer
    known to match what was acknowledged (an fsync error cannot be retried safely).
    """


class IdentityMismatch(RaftKVError):
    """`identity.json` in the data directory belongs to another node id."""

    def __init__(self, path: str, stored_node_id: int, configured_node_id: int) -> None:
        super().__init__(
            f"{path} belongs to node {stored_node_id}, but this node is configured as node "
            f"{configured_node_id}: use the right data directory or node id"
        )
        self.stored_node_id = stored_node_id
        self.configured_node_id = configured_node_id
