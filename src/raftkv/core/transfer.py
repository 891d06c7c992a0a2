"""Leadership transfer (thesis §3.10): stop taking proposals, bring the target up to date, send
TimeoutNow; the target campaigns at once, without pre-vote and with `transfer` set so that the
followers' lease does not stop it. Abandoned after an election timeout.
"""

from __future__ import annotations

from . import election
from .errors import InvalidMembership, NotLeader
from .messages import TimeoutNow
from .progress import Tracker
from .state import NodeState
from .types import NodeId, Role


def transfer_leadership(st: NodeState, target: NodeId | None) -> NodeId:
    if st.role is not Role.LEADER:
        raise NotLeader(st.leader_id)
    candidates = sorted(st.membership.voters - {st.id})
    if not candidates:
        raise InvalidMembership("no other voter to transfer leadership to")
    if target is None:
        target = max(candidates, key=lambda node: (st.trackers[node].match_index, -node))
    elif target == st.id:
        return target
    elif target not in candidates:
        raise InvalidMembership(f"transfer target {target} is not a voter")
    st.transfer_target = target
    st.transfer_deadline = st.now + st.cfg.election_timeout_max
    st.timeout_now_sent = False
    on_progress(st, st.trackers[target])
    st.broadcast_pending = True
    return target


def on_progress(st: NodeState, tr: Tracker) -> None:
    """Once the target holds our whole log, tell it to campaign (once)."""
    if (
        st.transfer_target == tr.node_id
        and not st.timeout_now_sent
        and tr.match_index >= st.log.last_index
    ):
        st.send(TimeoutNow(st.term, st.id, tr.node_id))
        st.timeout_now_sent = True


def tick(st: NodeState) -> None:
    if st.transfer_target is not None and st.now >= st.transfer_deadline:
        st.transfer_target = None  # abandoned: take proposals again
        st.timeout_now_sent = False


def handle_timeout_now(st: NodeState, msg: TimeoutNow) -> None:
    if st.role is Role.LEADER or not st.can_campaign():
        return
    election.campaign(st, transfer=True)
