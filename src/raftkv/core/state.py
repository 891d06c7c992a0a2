"""The mutable state of one Raft node, shared by the handler modules, and its output queues.

The handlers (`election`, `replication`, `follower`, `read_index`, `transfer`, `reconfig`,
`snapshot`) are functions over a `NodeState`; `RawNode` is the public face. Outgoing messages
are queued here and leave in the next `Ready`: in `messages` when they promise nothing that is
not yet durable, in `persisted_messages` otherwise (thesis §3.8).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from .config import CoreConfig
from .errors import InvariantViolation
from .log import RaftLog
from .membership import MembershipState
from .messages import Message
from .progress import Tracker
from .ready import InstallSnapshot, ReadState
from .types import Membership, NodeId, Role, SnapshotMeta


@dataclass(slots=True)
class PendingRead:
    """A ReadIndex request registered on the leader, waiting for its heartbeat round."""

    ctx: int
    origin: NodeId
    index: int
    registered_seq: int
    """Confirmed by acknowledgements of requests with a higher seq (sent after it)."""


class NodeState:
    """Everything a node knows; see the handler modules for the rules that change it."""

    def __init__(self, node_id: NodeId, config: CoreConfig, rng: random.Random, now: int) -> None:
        self.id = node_id
        self.cfg = config
        self.rng = rng
        self.now = now
        self.log = RaftLog()
        self.mem = MembershipState()
        self.snapshot_meta: SnapshotMeta | None = None
        """The latest snapshot (compacted or installed): what a lagging follower gets."""

        self.term = 0
        self.vote: NodeId | None = None
        self.hard_state_dirty = False
        self.term_dirty = False
        """The term changed and the Ready that persists it has not been built yet."""

        self._learner = False
        self._learner_version = -1
        self.role = Role.FOLLOWER
        """LEADER, CANDIDATE, SHUTDOWN, or FOLLOWER (reported as Learner when not a voter)."""
        self.leader_id: NodeId | None = None
        self.pre_vote_phase = False
        self.votes_granted: set[NodeId] = set()
        self.votes_rejected: set[NodeId] = set()
        self.election_timeout = self.random_election_timeout()
        """The randomized timeout drawn at the last role change."""
        self.election_deadline = now + self.election_timeout
        self.lease_until = 0
        """Until then a follower has heard from a live leader and ignores (pre-)votes."""

        # Leader state (reset by every role change).
        self.trackers: dict[NodeId, Tracker] = {}
        self.seq = 0
        """The last seq assigned to a request to a follower in this leadership."""
        self.heartbeat_deadline = now
        self.committed_in_term = False
        self.handled_config = -1
        """The index of the committed configuration this leader last acted on."""
        self.broadcast_pending = False
        self.reads_waiting_commit: list[tuple[int, NodeId]] = []
        self.reads_pending: deque[PendingRead] = deque()
        self.read_round_seq = -1
        """A heartbeat round is owed to every voter not sent anything since this seq."""
        self.transfer_target: NodeId | None = None
        self.transfer_deadline = 0
        self.timeout_now_sent = False

        # Follower state.
        self.remote_reads: dict[int, NodeId] = {}
        """ReadIndex contexts asked of a leader (ctx -> leader), answered by its response."""

        # Output queues, emptied by the next Ready.
        self.messages: list[Message] = []
        self.persisted_messages: list[Message] = []
        self.read_states: list[ReadState] = []
        self.install: InstallSnapshot | None = None

    # -- derived -------------------------------------------------------------------------

    @property
    def membership(self) -> Membership:
        return self.mem.effective

    @property
    def pristine(self) -> bool:
        """No configuration known yet: never votes or campaigns (waits for init or a leader)."""
        return not self.mem.effective.nodes

    def is_voter(self) -> bool:
        return self.id in self.mem.effective.voters

    def reported_role(self) -> Role:
        """A follower that is a member but not a voter reports Learner."""
        if self.role is not Role.FOLLOWER:
            return self.role
        if self._learner_version != self.mem.version:
            membership = self.mem.effective
            self._learner = membership.is_member(self.id) and self.id not in membership.voters
            self._learner_version = self.mem.version
        return Role.LEARNER if self._learner else Role.FOLLOWER

    def can_campaign(self) -> bool:
        """A voter of the effective configuration may start an election; so may a voter of
        the committed one while a configuration that leaves it out is not committed yet (a
        leader that appended it and lost leadership may hold the only copy: if it never
        campaigned and refused the others' votes, its log being longer, nobody could lead).
        Learners, removed nodes and pristine nodes never do."""
        if self.role is Role.SHUTDOWN or self.pristine:
            return False
        if self.is_voter():
            return True
        commit = self.log.commit_index
        return self.mem.effective_index > commit and self.id in self.mem.at(commit)[1].voters

    # -- hard state ----------------------------------------------------------------------

    def set_term(self, term: int) -> None:
        if term < self.term:
            raise InvariantViolation(f"term going back from {self.term} to {term}")
        if term > self.term:
            self.term = term
            self.vote = None
            self.hard_state_dirty = True
            self.term_dirty = True

    def set_vote(self, vote: NodeId) -> None:
        self.vote = vote
        self.hard_state_dirty = True

    # -- timers --------------------------------------------------------------------------

    def random_election_timeout(self) -> int:
        return self.rng.randrange(self.cfg.election_timeout_min, self.cfg.election_timeout_max)

    def reset_election_deadline(self) -> None:
        """Draw a new randomized timeout (on every role change and vote)."""
        self.election_timeout = self.random_election_timeout()
        self.election_deadline = self.now + self.election_timeout

    def heard_from_leader(self, leader: NodeId) -> None:
        """Restart the election timer with the timeout drawn at the last role change (as etcd
        does): a draw per append would cost CPU and add nothing."""
        self.leader_id = leader
        self.lease_until = self.now + self.cfg.election_timeout_min
        self.election_deadline = self.now + self.election_timeout

    # -- output --------------------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """A message that promises nothing new; it waits for persistence only if it carries
        a term that is not durable yet."""
        if self.term_dirty:
            self.persisted_messages.append(msg)
        else:
            self.messages.append(msg)

    def send_persisted(self, msg: Message) -> None:
        """A message that promises state changed in this step (vote, entries, snapshot)."""
        self.persisted_messages.append(msg)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq
