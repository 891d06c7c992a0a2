"""Errors of the storage layer, split by whose fault they are.

`StorageError` is outside circumstances (the disk, the filesystem, sqlite) and always names the
path involved; `DamagedStorage`, one of them, is a data directory that lost or mangled what it
promised to keep, and says how to recover. `IdentityMismatch` is the operator's: the data directory belongs to another node.
A caller that breaks the log's shape (a gap, a rewrite of compacted entries) gets `ValueError`.
"""

from __future__ import annotations

from pathlib import Path

from raftkv.core.errors import RaftKVError


class StorageError(RaftKVError):
    """The durable store cannot read or write its files; the message names the path.

    After a failed write the store refuses every later call: the state on disk is no longer
    known to match what was acknowledged (an fsync error cannot be retried safely).
    """


class DamagedStorage(StorageError):
    """The data directory lost part of what it promised to keep (a log beside an identity, an
    identity beside a log, the recorded snapshot): refused, never reset, nothing deleted.

    The node's votes and acknowledgements are gone with it, so it must not come back under the
    identity its peers know; the message, one line, names the file and the way back.
    """

    def __init__(self, path: Path, problem: str, data_dir: Path) -> None:
        super().__init__(
            f"{path} {problem}: the data directory is damaged and the node would forget votes "
            f"and entries it acknowledged; nothing was changed. To recover, wipe {data_dir} and "
            "rejoin this node as a new member (a new node_id, added with /admin/add-learner)"
        )
        self.path = path


class IdentityMismatch(RaftKVError):
    """`identity.json` in the data directory belongs to another node id."""

    def __init__(self, path: str, stored_node_id: int, configured_node_id: int) -> None:
        super().__init__(
            f"{path} belongs to node {stored_node_id}, but this node is configured as node "
            f"{configured_node_id}: use the right data directory or node id"
        )
        self.stored_node_id = stored_node_id
        self.configured_node_id = configured_node_id
