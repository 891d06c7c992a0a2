"""Messages between Raft nodes (one-way; a response is a message of its own).

Every message names its sender (`frm`), its receiver (`to`) and the sender's term. The node
runtime adds the cluster envelope (cluster id, the receiver's storage id, auth) on the wire; the
core never sees it. `Message` is a tagged union, so `msgspec.msgpack.decode(buf, type=Message)`
yields the right class.
"""

from __future__ import annotations

import msgspec

from .types import Entry, NodeId, SnapshotMeta


class VoteRequest(msgspec.Struct, frozen=True, tag="vote"):
    """RequestVote (§5.2) or PreVote (thesis §9.6); `transfer` is set after TimeoutNow (§3.10)."""

    term: int
    frm: NodeId
    to: NodeId
    last_log_index: int
    last_log_term: int
    pre_vote: bool = False
    transfer: bool = False

    def describe(self) -> str:
        kind = "PreVote" if self.pre_vote else "Vote"
        extra = " transfer" if self.transfer else ""
        return (
            f"{self.frm}->{self.to} {kind} term={self.term} "
            f"last={self.last_log_term}/{self.last_log_index}{extra}"
        )


class VoteResponse(msgspec.Struct, frozen=True, tag="vote_resp"):
    term: int
    frm: NodeId
    to: NodeId
    granted: bool
    pre_vote: bool = False

    def describe(self) -> str:
        kind = "PreVoteResp" if self.pre_vote else "VoteResp"
        return f"{self.frm}->{self.to} {kind} term={self.term} granted={self.granted}"


class AppendRequest(msgspec.Struct, frozen=True, tag="append"):
    """AppendEntries (§5.3); with no entries it is a heartbeat.

    `seq` numbers the leader's requests to this follower within its term; the response echoes
    it, so the leader can ignore stale responses and confirm ReadIndex rounds.
    """

    term: int
    frm: NodeId
    to: NodeId
    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    leader_commit: int
    seq: int

    def describe(self) -> str:
        ents = ",".join(e.describe() for e in self.entries)
        return (
            f"{self.frm}->{self.to} App term={self.term} prev={self.prev_term}/{self.prev_index} "
            f"commit={self.leader_commit} seq={self.seq} [{ents}]"
        )


class AppendResponse(msgspec.Struct, frozen=True, tag="append_resp"):
    """On success `match_index` is the last index known to match the leader's log.

    On rejection `hint_index`/`hint_term` let the leader skip a whole conflicting term at once
    (fast backtracking, thesis §5.3 "the follower can include the term of the conflicting entry").
    """

    term: int
    frm: NodeId
    to: NodeId
    success: bool
    match_index: int
    seq: int
    hint_index: int = 0
    hint_term: int = 0

    def describe(self) -> str:
        if self.success:
            return f"{self.frm}->{self.to} AppResp term={self.term} ok match={self.match_index} seq={self.seq}"
        return (
            f"{self.frm}->{self.to} AppResp term={self.term} reject "
            f"hint={self.hint_term}/{self.hint_index} seq={self.seq}"
        )


class SnapshotRequest(msgspec.Struct, frozen=True, tag="snapshot"):
    """InstallSnapshot (§7). The core leaves `data` empty; the runtime attaches the bytes of the
    snapshot that `meta` names before sending (and chunks them on the wire if it must)."""

    term: int
    frm: NodeId
    to: NodeId
    meta: SnapshotMeta
    seq: int
    data: bytes = b""

    def describe(self) -> str:
        m = self.meta
        return f"{self.frm}->{self.to} Snap term={self.term} last={m.last_term}/{m.last_index} seq={self.seq}"


class SnapshotResponse(msgspec.Struct, frozen=True, tag="snapshot_resp"):
    """`last_index` is the snapshot's last index, now matched by the receiver."""

    term: int
    frm: NodeId
    to: NodeId
    last_index: int
    seq: int

    def describe(self) -> str:
        return (
            f"{self.frm}->{self.to} SnapResp term={self.term} last={self.last_index} seq={self.seq}"
        )


class TimeoutNow(msgspec.Struct, frozen=True, tag="timeout_now"):
    """Leadership transfer (thesis §3.10): campaign now, without pre-vote, with `transfer` set."""

    term: int
    frm: NodeId
    to: NodeId

    def describe(self) -> str:
        return f"{self.frm}->{self.to} TimeoutNow term={self.term}"


class ReadIndexRequest(msgspec.Struct, frozen=True, tag="read_index"):
    """A follower asks the leader for a read index on behalf of its client (thesis §6.4)."""

    term: int
    frm: NodeId
    to: NodeId
    ctx: int

    def describe(self) -> str:
        return f"{self.frm}->{self.to} ReadIndex term={self.term} ctx={self.ctx}"


class ReadIndexResponse(msgspec.Struct, frozen=True, tag="read_index_resp"):
    """`ok` false means the leader could not confirm its leadership; the read fails."""

    term: int
    frm: NodeId
    to: NodeId
    ctx: int
    index: int
    ok: bool

    def describe(self) -> str:
        return f"{self.frm}->{self.to} ReadIndexResp term={self.term} ctx={self.ctx} index={self.index} ok={self.ok}"


Message = (
    VoteRequest
    | VoteResponse
    | AppendRequest
    | AppendResponse
    | SnapshotRequest
    | SnapshotResponse
    | TimeoutNow
    | ReadIndexRequest
    | ReadIndexResponse
)
