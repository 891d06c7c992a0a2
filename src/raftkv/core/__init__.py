"""The Raft consensus core: a pure, deterministic state machine (no I/O, no clock, no asyncio).

See docs/core-api.md for the contract between the core and its drivers.
"""

from .config import CoreConfig
from .errors import (
    AlreadyInitialized,
    Compacted,
    InvalidMembership,
    InvariantViolation,
    LearnerLagging,
    LearnerNotFound,
    MembershipChangeInProgress,
    NotInitialized,
    NotLeader,
    ProposalDropped,
    RaftKVError,
)
from .messages import (
    AppendRequest,
    AppendResponse,
    Message,
    ReadIndexRequest,
    ReadIndexResponse,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from .rawnode import RawNode
from .ready import InstallSnapshot, ReadState, Ready, SoftState
from .status import Progress, Status
from .types import (
    EMPTY_MEMBERSHIP,
    BootState,
    Entry,
    EntryKind,
    HardState,
    Membership,
    NodeId,
    NodeInfo,
    Role,
    SnapshotMeta,
)

__all__ = [
    "EMPTY_MEMBERSHIP",
    "AlreadyInitialized",
    "AppendRequest",
    "AppendResponse",
    "BootState",
    "Compacted",
    "CoreConfig",
    "Entry",
    "EntryKind",
    "HardState",
    "InstallSnapshot",
    "InvalidMembership",
    "InvariantViolation",
    "LearnerLagging",
    "LearnerNotFound",
    "Membership",
    "MembershipChangeInProgress",
    "Message",
    "NodeId",
    "NodeInfo",
    "NotInitialized",
    "NotLeader",
    "Progress",
    "ProposalDropped",
    "RaftKVError",
    "RawNode",
    "ReadIndexRequest",
    "ReadIndexResponse",
    "ReadState",
    "Ready",
    "Role",
    "SnapshotMeta",
    "SnapshotRequest",
    "SnapshotResponse",
    "SoftState",
    "Status",
    "TimeoutNow",
    "VoteRequest",
    "VoteResponse",
]
