"""`raftkv cluster form`: form a cluster from the command line, the way the reference's
scenario does it (`/admin/init` on the first node, the others added as learners, then all
promoted to voters), for nodes a user started without the framework.

Each node's id and peer address come from its own `/state` (`node_id`, `public_addr`),
so `--nodes` lists only where the command reaches the nodes. Waits up to `--wait` seconds
for every node to answer (containers just started) and for the first one to lead. A cluster
already formed with exactly these voters is left as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from raftkv.client import ApiError, NodeClient, NodeState

from .commands import CommandFailed

POLL_S = 0.2


async def form_cluster(args: argparse.Namespace) -> int:
    nodes = [NodeClient(addr, timeout=args.timeout, auth_token=args.token) for addr in args.nodes]
    try:
        states = await _all_answer(nodes, args.wait)
        voters = sorted(state.node_id for state in states)
        if len(set(voters)) != len(voters):
            raise CommandFailed(f"two of --nodes report the same node id: {voters}")
        admin = nodes[0]  # a follower forwards admin calls to the leader
        joint = bool((states[0].membership or {}).get("joint"))
        if sorted(states[0].voters) == voters and not joint:
            print(f"already formed: voters {voters}")
            return 0
        await _init(admin)
        leader = await _wait_leader(admin, args.wait)
        for state in states[1:]:
            await admin.add_learner(state.node_id, state.public_addr, blocking=True)
            print(f"node {state.node_id} ({state.public_addr}) added as a learner")
        await admin.change_membership(voters)
        print(f"formed: voters {voters}, leader node {leader}")
        return 0
    finally:
        await asyncio.gather(*(node.close() for node in nodes))


async def _all_answer(nodes: list[NodeClient], wait: float) -> list[NodeState]:
    """Every node's state, once each answers; fails naming the ones that never did."""
    deadline = time.monotonic() + wait
    while True:
        answers = await asyncio.gather(*(_state(node) for node in nodes))
        silent = [node.addr for node, answer in zip(nodes, answers, strict=True) if answer is None]
        if not silent:
            return [answer for answer in answers if answer is not None]
        if time.monotonic() > deadline:
            raise CommandFailed(f"no answer within {wait:g} s from {', '.join(silent)}")
        await asyncio.sleep(POLL_S)


async def _state(node: NodeClient) -> NodeState | None:
    try:
        return await node.state(kv=False)
    except ApiError:
        return None


async def _init(node: NodeClient) -> None:
    try:
        await node.init()
    except ApiError as error:
        if error.code != "already_initialized":
            raise
    print(f"initialized on {node.addr}")


async def _wait_leader(node: NodeClient, wait: float) -> int:
    """The leader `node` knows of (itself, right after a fresh init); admin calls sent to
    `node` reach it (a follower forwards them)."""
    deadline = time.monotonic() + wait
    while True:
        state = await _state(node)
        if state is not None and state.current_leader is not None:
            return state.current_leader
        if time.monotonic() > deadline:
            raise CommandFailed(f"{node.addr} knew no leader within {wait:g} s after init")
        await asyncio.sleep(POLL_S)
