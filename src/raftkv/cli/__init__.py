"""The `raftkv` command line: status, reads, writes and membership of a running cluster.

`main(argv)` returns the exit code: 0 on success, 1 when the cluster said no (one line on
stderr with the code and message), 2 for a usage error (argparse).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from raftkv.client import ApiError

from .commands import CommandFailed, run
from .parser import parse_args

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except ApiError as exc:
        print(describe_error(exc, args.command), file=sys.stderr)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


def describe_error(exc: ApiError, command: str) -> str:
    """One line: `error: <code>: <message>`, saying when the outcome is unknown."""
    line = f"error: {exc.code}: {exc.message}"
    if exc.indeterminate:
        what = "the write" if command == "put" else "the operation"
        line += f" ({what} may or may not have been applied)"
    return line
