"""The `raftkv` argument parser; a usage error exits 2 with argparse's message."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from raftkv.client.node_client import parse_addr

__all__ = ["DEFAULT_NODES", "build_parser", "parse_args"]

DEFAULT_NODES = "127.0.0.1:8080"
NODES_ENV = "RAFTKV_NODES"
TOKEN_ENV = "RAFTKV_TOKEN"


def parse_nodes(text: str) -> list[str]:
    """`host:port,host:port,...` as a list of addresses (argparse type)."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("no node address given")
    try:
        return list(dict.fromkeys(parse_addr(part) for part in parts))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return seconds


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def node_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a node id (a non-negative integer): {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="raftkv", description="Talk to a raftkv cluster.")
    parser.add_argument(
        "--nodes",
        type=parse_nodes,
        default=None,
        help=f"comma-separated host:port list (default: ${NODES_ENV}, else {DEFAULT_NODES})",
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=10.0, help="seconds per command (10)"
    )
    parser.add_argument(
        "--token", default=os.environ.get(TOKEN_ENV), help=f"admin bearer token (${TOKEN_ENV})"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("status", help="a table of every node's role, term, log and membership")
    put = commands.add_parser("put", help="write KEY = VALUE through the leader")
    put.add_argument("key")
    put.add_argument("value")
    get = commands.add_parser("get", help="print the value of KEY")
    get.add_argument("key")
    get.add_argument("--linearizable", action="store_true", help="read through ReadIndex")
    scan = commands.add_parser(
        "scan", help="print KEY=VALUE for each key under PREFIX, in key order (local state)"
    )
    scan.add_argument("prefix", metavar="PREFIX", nargs="?", default="")
    scan.add_argument(
        "--limit", type=positive_int, metavar="N", help="print at most N keys (default: all)"
    )
    commands.add_parser("init", help="make the first node a one-voter cluster")
    learner = commands.add_parser("add-learner", help="add node ID at ADDR as a learner")
    learner.add_argument("node_id", metavar="ID", type=node_id)
    learner.add_argument("addr", metavar="ADDR", type=_addr)
    learner.add_argument(
        "--no-blocking", dest="blocking", action="store_false", help="do not wait for catch-up"
    )
    change = commands.add_parser("change-membership", help="make IDS the voter set")
    change.add_argument("voters", metavar="IDS", type=node_id, nargs="+")
    change.add_argument("--retain", action="store_true", help="keep removed voters as learners")
    commands.add_parser("metrics", help="print the first reachable node's metrics as JSON")
    cluster = commands.add_parser("cluster", help="cluster-wide operations")
    cluster_commands = cluster.add_subparsers(dest="cluster_command", required=True, metavar="OP")
    form = cluster_commands.add_parser(
        "form",
        help="init the first of --nodes, add the others as learners, make them all voters",
        description="Forms a cluster of every node in --nodes (ids and peer addresses come "
        "from each node's /state); the first one is initialized.",
    )
    # Also after the command (`raftkv cluster form --nodes ...`); SUPPRESS keeps the
    # top-level value when it is not given here.
    form.add_argument("--nodes", type=parse_nodes, default=argparse.SUPPRESS, help="as above")
    form.add_argument(
        "--wait", type=positive_seconds, default=60.0, help="seconds to wait for the nodes (60)"
    )
    return parser


def _addr(text: str) -> str:
    try:
        return parse_addr(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse `argv`; `--nodes` falls back to $RAFTKV_NODES, then to the default."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.nodes is None:
        from_env = os.environ.get(NODES_ENV, "").strip()
        try:
            args.nodes = parse_nodes(from_env or DEFAULT_NODES)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"${NODES_ENV}: {exc}")
    return args
