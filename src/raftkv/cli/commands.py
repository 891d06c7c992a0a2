"""What each `raftkv` command does, given parsed arguments."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import msgspec

from raftkv.client import ApiError, ClusterClient, NodeClient, NodeState, ScanPage
from raftkv.client.models import SCAN_LIMIT_MAX

from .status import render_status

__all__ = ["CommandFailed", "run"]


class CommandFailed(Exception):
    """A command that could not do its job for a reason that is not an ApiError."""


async def run(args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit code or raises ApiError / CommandFailed."""
    handler = _COMMANDS[args.command]
    return await handler(args)


async def _status(args: argparse.Namespace) -> int:
    nodes = [NodeClient(addr, timeout=args.timeout, auth_token=args.token) for addr in args.nodes]
    try:
        answers = await asyncio.gather(*(_state_or_error(node) for node in nodes))
    finally:
        await asyncio.gather(*(node.close() for node in nodes))
    render_status(list(zip(args.nodes, answers, strict=True)))
    return 0 if any(isinstance(answer, NodeState) for answer in answers) else 1


async def _state_or_error(node: NodeClient) -> NodeState | ApiError:
    try:
        return await node.state(kv=False)
    except ApiError as exc:
        return exc


async def _put(args: argparse.Namespace) -> int:
    async with _cluster(args) as cluster:
        previous = await cluster.write(args.key, args.value)
    print("OK" if previous is None else f"OK (previous value: {previous})")
    return 0


async def _get(args: argparse.Namespace) -> int:
    async with _cluster(args) as cluster:
        value = await cluster.read(args.key, linearizable=args.linearizable)
    if value is None:
        raise CommandFailed(f"key not found: {args.key}")
    print(value)
    return 0


async def _scan(args: argparse.Namespace) -> int:
    limit: int | None = args.limit
    page_size = min(limit or SCAN_LIMIT_MAX, SCAN_LIMIT_MAX)
    printed = 0
    async with contextlib.aclosing(_scanned_pairs(args, page_size)) as pairs:
        async for key, value in pairs:
            sys.stdout.write(f"{key}={value}\n")
            printed += 1
            if printed == limit:
                break
    return 0


async def _scanned_pairs(
    args: argparse.Namespace, page_size: int
) -> AsyncGenerator[tuple[str, str], None]:
    """The applied state of the first node that answers the first page, read on that node
    to the end (moving to another node half-way would print some keys twice)."""

    async def first_page(node: NodeClient) -> tuple[str, ScanPage]:
        return node.addr, await node.scan(args.prefix, limit=page_size)

    addr, page = await _on_first_reachable(args, first_page)
    for pair in page.items:
        yield pair
    if page.next is None:
        return
    async with _node(args, addr) as node:
        async for pair in node.scan_all(args.prefix, after=page.next, page_size=page_size):
            yield pair


async def _init(args: argparse.Namespace) -> int:
    async with _node(args, args.nodes[0]) as node:
        await node.init()
    print(f"initialized a one-voter cluster on {node.addr}")
    return 0


async def _add_learner(args: argparse.Namespace) -> int:
    async def add(node: NodeClient) -> None:
        await node.add_learner(args.node_id, args.addr, blocking=args.blocking)

    await _on_first_reachable(args, add)
    caught_up = " and caught up" if args.blocking else ""
    print(f"node {args.node_id} ({args.addr}) added as a learner{caught_up}")
    return 0


async def _change_membership(args: argparse.Namespace) -> int:
    async def change(node: NodeClient) -> None:
        await node.change_membership(args.voters, retain=args.retain)

    await _on_first_reachable(args, change)
    print(f"voters are now {sorted(set(args.voters))}")
    return 0


async def _metrics(args: argparse.Namespace) -> int:
    metrics: dict[str, Any] = await _on_first_reachable(args, lambda node: node.metrics())
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(metrics), indent=2).decode() + "\n")
    return 0


async def _on_first_reachable(
    args: argparse.Namespace, call: Callable[[NodeClient], Awaitable[Any]]
) -> Any:
    """`call` on the first node that accepts a connection (nodes forward admin calls to the
    leader). Moving on is safe only when nothing was sent: a refused connection."""
    refused: ApiError | None = None
    for addr in args.nodes:
        async with _node(args, addr) as node:
            try:
                return await call(node)
            except ApiError as exc:
                if exc.code != "unreachable" or exc.indeterminate:
                    raise
                refused = exc
    assert refused is not None  # --nodes is never empty
    raise refused


def _node(args: argparse.Namespace, addr: str) -> NodeClient:
    return NodeClient(addr, timeout=args.timeout, auth_token=args.token)


def _cluster(args: argparse.Namespace) -> ClusterClient:
    return ClusterClient(args.nodes, timeout=args.timeout, auth_token=args.token)


_COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "status": _status,
    "put": _put,
    "get": _get,
    "scan": _scan,
    "init": _init,
    "add-learner": _add_learner,
    "change-membership": _change_membership,
    "metrics": _metrics,
    "cluster": lambda args: _CLUSTER_COMMANDS[args.cluster_command](args),
}


def _form(args: argparse.Namespace) -> Awaitable[int]:
    from .form import form_cluster  # form imports CommandFailed from here

    return form_cluster(args)


_CLUSTER_COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {"form": _form}
