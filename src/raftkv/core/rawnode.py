"""`RawNode`: the public face of the core (docs/core-api.md). Inputs go in through `tick`,
`step` and the client calls; outputs come out as `Ready` batches, whose docstring gives the
order in which the runtime must carry them out.
"""

from __future__ import annotations

import random

from . import (
    election,
    follower,
    peer_input,
    read_index,
    reconfig,
    replication,
    roles,
    snapshot,
    transfer,
)
from .config import CoreConfig
from .errors import (
    AlreadyInitialized,
    InvariantViolation,
    MessageRejected,
    NotLeader,
    ProposalDropped,
)
from .log import RaftLog
from .membership import check_invariants, decode_membership, encode_membership
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
from .ready import Ready, SoftState
from .state import NodeState
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

MAX_COMMITTED_PER_READY = 4096
"""Bounds one Ready's apply batch (a restarted node may have a long log to re-apply)."""


class RawNode:
    """One Raft node as a pure state machine: no I/O, no clock, randomness only from `rng`."""

    def __init__(
        self,
        node_id: NodeId,
        config: CoreConfig,
        rng: random.Random,
        now: int,
        boot: BootState | None = None,
    ) -> None:
        config.validate()
        self._st = NodeState(node_id, config, rng, now)
        self._inflight: Ready | None = None
        self._last_soft = SoftState(Role.FOLLOWER, 0, None)
        self._committed_cache: tuple[tuple[int, int], tuple[int, Membership]] = (
            (-1, -1),
            (0, EMPTY_MEMBERSHIP),
        )
        if boot is not None and not boot.pristine:
            self._restore(boot)
        self._last_soft = self._soft_state()

    def _restore(self, boot: BootState) -> None:
        """A restarted node acts as if it had just heard from a leader: it refuses (pre-)votes
        for election_timeout_min, and first campaigns after (max - min) + a random timeout."""
        st = self._st
        if boot.snapshot is not None:
            meta = boot.snapshot
            st.log = RaftLog(meta.last_index, meta.last_term)
            st.mem.reset(meta.membership_index, meta.membership)
            st.snapshot_meta = meta
        for entry in boot.entries:
            st.log.append(entry)
            if entry.kind is EntryKind.MEMBERSHIP:
                st.mem.append(entry.index, decode_membership(entry.data))
        st.log.durable_index = st.log.last_index
        st.log.pending_from = st.log.last_index + 1
        if boot.applied_index > st.log.last_index:
            raise ValueError(
                f"the state machine applied {boot.applied_index}, beyond the log ({st.log.last_index})"
            )
        floor = max(boot.applied_index, st.log.commit_index)
        st.log.commit_index = st.log.applied_index = floor
        st.term = boot.hard_state.term
        st.vote = boot.hard_state.vote
        cfg = st.cfg
        st.lease_until = st.now + cfg.election_timeout_min
        spread = cfg.election_timeout_max - cfg.election_timeout_min
        st.election_deadline = st.now + spread + st.election_timeout

    # -- properties and queries ----------------------------------------------------------

    @property
    def node_id(self) -> NodeId:
        return self._st.id

    @property
    def role(self) -> Role:
        return self._st.reported_role()

    @property
    def term(self) -> int:
        return self._st.term

    @property
    def leader_id(self) -> NodeId | None:
        return self._st.leader_id

    def status(self) -> Status:
        st = self._st
        log = st.log
        key = (log.commit_index, st.mem.version)
        if self._committed_cache[0] != key:
            self._committed_cache = (key, st.mem.at(log.commit_index))
        committed_index, committed = self._committed_cache[1]
        progress = {
            node: Progress(tr.match_index, tr.next_index, str(tr.state), tr.last_ack)
            for node, tr in st.trackers.items()
        }
        return Status(
            node_id=st.id,
            role=st.reported_role(),
            term=st.term,
            vote=st.vote,
            leader_id=st.leader_id,
            commit_index=log.commit_index,
            applied_index=log.applied_index,
            last_index=log.last_index,
            last_term=log.last_term,
            snapshot_index=log.snapshot_index,
            membership=st.membership,
            membership_index=st.mem.effective_index,
            committed_membership=committed,
            committed_membership_index=committed_index,
            progress=progress,
        )

    # -- inputs --------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        """Advance the injected clock (milliseconds) and fire any timer that is due."""
        st = self._st
        if now > st.now:
            st.now = now
        if st.role is Role.SHUTDOWN:
            return
        if st.role is Role.LEADER:
            replication.tick_leader(st)
        else:
            election.tick_election(st)

    def step(self, msg: Message) -> None:
        """Handle a message from another node (terms first, then by kind); `MessageRejected`
        if no correct peer could have sent it (see `peer_input`): then nothing changed."""
        st = self._st
        if st.role is Role.SHUTDOWN or msg.to != st.id or msg.frm == st.id:
            return
        reason = peer_input.refusal(st, msg)
        if reason is not None:
            raise MessageRejected(reason, msg.describe())
        if msg.term > st.term:
            if not _keeps_term(msg):
                leader = msg.frm if isinstance(msg, AppendRequest | SnapshotRequest) else None
                roles.become_follower(st, msg.term, leader)
        elif msg.term < st.term and not isinstance(msg, VoteRequest):
            _reply_stale(st, msg)
            return
        _dispatch(st, msg)

    def connection_lost(self, peer: NodeId) -> bool:
        """Hint: `peer`'s connection ended without a close handshake (see
        `election.connection_lost`); True when this follower will campaign early."""
        return election.connection_lost(self._st, peer)

    def initialize(self, info: NodeInfo, cluster_id: str, max_sessions: int = 0) -> int:
        """Create the cluster {self}: the membership entry at index 1 (term 1), then lead.
        `max_sessions` is fixed for the cluster's life (see `Membership.max_sessions`)."""
        st = self._st
        if st.term != 0 or st.log.last_index != 0 or not st.pristine or st.snapshot_meta:
            raise AlreadyInitialized("this node already has Raft state")
        membership = Membership(
            (frozenset({st.id}),), {st.id: info}, cluster_id, max_sessions=max_sessions
        )
        check_invariants(membership)
        st.set_term(1)
        st.set_vote(st.id)
        st.log.append(Entry(1, 1, EntryKind.MEMBERSHIP, encode_membership(membership)))
        st.mem.append(1, membership)
        roles.become_leader(st)
        return 1

    def propose(self, data: bytes) -> tuple[int, int]:
        """Append a client command; returns the (term, index) it was appended at."""
        st = self._st
        if st.role is not Role.LEADER:
            raise NotLeader(st.leader_id)
        if st.transfer_target is not None:
            raise ProposalDropped("leadership transfer in progress")
        index = st.log.last_index + 1
        replication.append_entry(st, Entry(st.term, index, EntryKind.COMMAND, data))
        return st.term, index

    def add_learner(self, node_id: NodeId, info: NodeInfo) -> int:
        return reconfig.add_learner(self._st, node_id, info)

    def change_membership(self, voters: set[NodeId], retain: bool) -> int:
        return reconfig.change_membership(self._st, voters, retain)

    def read_index(self, ctx: int) -> None:
        """Ask for a linearizable read index; the answer is a `ReadState(ctx)` in a Ready."""
        read_index.read_index(self._st, ctx)

    def transfer_leadership(self, target: NodeId | None) -> NodeId:
        return transfer.transfer_leadership(self._st, target)

    def snapshot_meta(self, index: int) -> SnapshotMeta:
        return snapshot.snapshot_meta(self._st, index)

    def compact(self, meta: SnapshotMeta) -> None:
        snapshot.compact(self._st, meta)

    def shutdown(self) -> None:
        st = self._st
        if st.role is Role.LEADER:
            roles.leave_leadership(st)
        read_index.fail_remote_reads(st)
        st.role = Role.SHUTDOWN

    # -- outputs -------------------------------------------------------------------------

    def _soft_state(self) -> SoftState:
        st = self._st
        return SoftState(st.reported_role(), st.term, st.leader_id)

    def has_ready(self) -> bool:
        """Whether `ready()` has work (always False while a Ready is in flight)."""
        if self._inflight is not None:
            return False
        st = self._st
        if st.messages or st.persisted_messages or st.read_states or st.hard_state_dirty:
            return True
        log = st.log
        if log.pending_from <= log.last_index or (
            log.applied_index < log.commit_index and log.applied_index < log.durable_index
        ):
            return True
        if st.role is Role.LEADER and (st.broadcast_pending or st.read_round_seq >= 0):
            return True
        last = self._last_soft
        return bool(
            st.install is not None
            or last.term != st.term
            or last.leader_id != st.leader_id
            or last.role is not st.reported_role()
        )

    def ready(self) -> Ready:
        """The next batch of work; call `advance(rd)` once it is done."""
        if self._inflight is not None:
            raise RuntimeError("ready() called before advance() of the previous Ready")
        st = self._st
        if st.role is Role.LEADER:
            replication.flush(st)
        rd = Ready()
        soft = self._soft_state()
        if soft != self._last_soft:
            rd.soft_state = soft
            self._last_soft = soft
        if st.hard_state_dirty:
            rd.hard_state = HardState(st.term, st.vote)
            st.hard_state_dirty = False
            st.term_dirty = False
        if st.install is not None:
            rd.snapshot = st.install
            st.install = None
        rd.entries = st.log.take_unstable()
        rd.messages, st.messages = st.messages, []
        rd.persisted_messages, st.persisted_messages = st.persisted_messages, []
        rd.committed = st.log.take_committed(MAX_COMMITTED_PER_READY)
        rd.read_states, st.read_states = st.read_states, []
        self._inflight = rd
        return rd

    def advance(self, rd: Ready) -> None:
        """Step 2 of `rd` is durable: its entries count toward commit from now on."""
        if rd is not self._inflight:
            raise RuntimeError("advance() of a Ready that is not the one in flight")
        self._inflight = None
        st = self._st
        if rd.snapshot is not None:
            st.log.on_snapshot_persisted(rd.snapshot.meta.last_index)
        st.log.on_persisted()
        if rd.hard_state is not None:
            election.on_hard_state_persisted(st, rd.hard_state)
        if st.role is Role.LEADER and rd.entries:
            replication.maybe_commit(st)

    def check_invariants(self) -> None:
        """Raise InvariantViolation if the node's state is inconsistent (tests, simulator)."""
        st = self._st
        log = st.log
        if not log.snapshot_index <= log.applied_index <= log.commit_index <= log.last_index:
            raise InvariantViolation(
                f"indexes out of order: snapshot {log.snapshot_index} applied "
                f"{log.applied_index} commit {log.commit_index} last {log.last_index}"
            )
        if not log.durable_index < log.pending_from <= log.last_index + 1:
            raise InvariantViolation(
                f"durable {log.durable_index} pending {log.pending_from} last {log.last_index}"
            )
        for tr in st.trackers.values():
            if tr.next_index < tr.match_index + 1:
                raise InvariantViolation(f"tracker {tr.describe()}")
        if st.role is Role.LEADER and st.leader_id != st.id:
            raise InvariantViolation(f"leader {st.id} names {st.leader_id} as leader")


def _keeps_term(msg: Message) -> bool:
    """Messages with a higher term that must not move ours: vote requests (the lease may
    ignore them; pre-votes never bump) and granted pre-vote answers."""
    if isinstance(msg, VoteRequest):
        return True
    return isinstance(msg, VoteResponse) and msg.pre_vote and msg.granted


def _reply_stale(st: NodeState, msg: Message) -> None:
    """Tell a deposed leader or a lagging reader about the newer term; drop the rest."""
    if isinstance(msg, AppendRequest | SnapshotRequest):
        st.send(AppendResponse(st.term, st.id, msg.frm, False, 0, msg.seq))
    elif isinstance(msg, ReadIndexRequest):
        st.send(ReadIndexResponse(st.term, st.id, msg.frm, msg.ctx, 0, False))


def _dispatch(st: NodeState, msg: Message) -> None:
    if isinstance(msg, AppendRequest):
        follower.handle_append(st, msg)
    elif isinstance(msg, AppendResponse):
        if st.role is Role.LEADER:
            replication.handle_append_response(st, msg)
    elif isinstance(msg, VoteRequest):
        election.handle_vote_request(st, msg)
    elif isinstance(msg, VoteResponse):
        election.handle_vote_response(st, msg)
    elif isinstance(msg, SnapshotRequest):
        snapshot.handle_snapshot(st, msg)
    elif isinstance(msg, SnapshotResponse):
        if st.role is Role.LEADER:
            snapshot.handle_snapshot_response(st, msg)
    elif isinstance(msg, TimeoutNow):
        transfer.handle_timeout_now(st, msg)
    elif isinstance(msg, ReadIndexRequest):
        read_index.handle_read_index_request(st, msg)
    elif isinstance(msg, ReadIndexResponse):
        read_index.handle_read_index_response(st, msg)
