"""Elections: timeouts, pre-vote, votes and the follower's leader lease (thesis §3.4, §9.6, §4.2.3).

NB: a vote grant promises durable (term, vote); it only ever leaves in `persisted_messages`.
A pre-vote changes and persists nothing.
"""

from __future__ import annotations

from . import roles
from .messages import VoteRequest, VoteResponse
from .quorum import VoteResult, joint_vote_result
from .state import NodeState
from .types import HardState, NodeId, Role


def tick_election(st: NodeState) -> None:
    """Follower or candidate: campaign once the randomized election deadline passes."""
    if st.now < st.election_deadline:
        return
    if st.can_campaign():
        campaign(st, transfer=False)
    else:
        st.reset_election_deadline()


def campaign(st: NodeState, transfer: bool) -> None:
    """Pre-vote first unless disabled or this is a leadership transfer (§3.10)."""
    start_election(st, pre_vote=st.cfg.pre_vote and not transfer, transfer=transfer)


def start_election(st: NodeState, pre_vote: bool, transfer: bool) -> None:
    if pre_vote:
        roles.become_pre_candidate(st)
        term = st.term + 1
    else:
        roles.become_candidate(st)
        term = st.term
    last_index, last_term = st.log.last_index, st.log.last_term
    for voter in sorted(st.membership.voters):
        if voter == st.id:
            continue
        req = VoteRequest(term, st.id, voter, last_index, last_term, pre_vote, transfer)
        if pre_vote:
            st.send(req)
        else:
            st.send_persisted(req)  # (term, vote) must be durable before it leaves
    check_votes(st)


def connection_lost(st: NodeState, peer: NodeId) -> bool:
    """The runtime's hint that `peer`'s connection ended without a goodbye, as when its
    process dies. A follower of `peer` drops its lease and campaigns after a random delay
    below `disconnect_campaign_max` instead of the whole timeout; returns whether it did.

    Only liveness rests on the hint. A wrong one costs a pre-vote that fails (the other
    followers are still in lease, the leader refuses) and the next append restores the timer.
    The random delay keeps followers that all saw the same crash from splitting the vote."""
    if (
        not st.cfg.campaign_on_leader_disconnect
        or st.role is not Role.FOLLOWER
        or peer != st.leader_id
        or not st.can_campaign()
    ):
        return False
    st.lease_until = min(st.lease_until, st.now)
    early = st.now + st.rng.randrange(st.cfg.disconnect_campaign_max)
    st.election_deadline = min(st.election_deadline, early)
    return True


def in_lease(st: NodeState) -> bool:
    """A follower or learner that heard from a live leader within election_timeout_min
    (or restarted that recently) ignores requests to replace it (thesis §4.2.3)."""
    return st.role is Role.FOLLOWER and st.now < st.lease_until


def handle_vote_request(st: NodeState, req: VoteRequest) -> None:
    if st.pristine:
        return  # a pristine node never votes: it is in no configuration yet
    if req.term < st.term:
        st.send(VoteResponse(st.term, st.id, req.frm, False, pre_vote=req.pre_vote))
        return
    if req.term > st.term and not req.transfer and in_lease(st):
        return
    if req.pre_vote:
        handle_pre_vote(st, req)
        return
    if req.term > st.term:
        roles.become_follower(st, req.term, None)
    up_to_date = st.log.is_up_to_date(req.last_log_term, req.last_log_index)
    free = st.vote == req.frm or (st.vote is None and st.leader_id is None)
    granted = free and up_to_date and st.role is Role.FOLLOWER
    if granted:
        st.set_vote(req.frm)
        st.reset_election_deadline()
    st.send_persisted(VoteResponse(st.term, st.id, req.frm, granted))


def handle_pre_vote(st: NodeState, req: VoteRequest) -> None:
    """Grant if the candidate could win a real election at `req.term`; change nothing."""
    granted = (
        req.term > st.term
        and st.role is not Role.LEADER
        and st.log.is_up_to_date(req.last_log_term, req.last_log_index)
    )
    term = req.term if granted else st.term
    st.send(VoteResponse(term, st.id, req.frm, granted, pre_vote=True))


def handle_vote_response(st: NodeState, resp: VoteResponse) -> None:
    if st.role is not Role.CANDIDATE or resp.pre_vote != st.pre_vote_phase:
        return
    expected = st.term + 1 if st.pre_vote_phase else st.term
    if resp.granted and resp.term == expected:
        st.votes_granted.add(resp.frm)
    elif not resp.granted and resp.term <= st.term:
        st.votes_rejected.add(resp.frm)
    else:
        return
    check_votes(st)


def on_hard_state_persisted(st: NodeState, hard_state: HardState) -> None:
    """A candidate counts its own vote only once (term, vote) is durable. Otherwise a single
    voter, a quorum by itself, would lead and append entries in a term that a crash before the
    fsync forgets, and after restart win the same term again and write other entries at the
    same indexes (log matching broken for anyone, e.g. a learner, that saw the first ones)."""
    if st.role is not Role.CANDIDATE or st.pre_vote_phase:
        return
    # The candidate set term and vote in one step, so any hard state of its term holds both.
    if hard_state.term == st.term:
        st.votes_granted.add(st.id)
        check_votes(st)


def check_votes(st: NodeState) -> None:
    result = joint_vote_result(st.membership.configs, st.votes_granted, st.votes_rejected)
    if result is VoteResult.WON:
        if st.pre_vote_phase:
            start_election(st, pre_vote=False, transfer=False)
        else:
            roles.become_leader(st)
    elif result is VoteResult.LOST:
        roles.become_follower(st, st.term, None)
