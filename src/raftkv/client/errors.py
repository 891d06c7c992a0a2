"""Errors of the client: every failed request is an `ApiError` saying whether the operation
may have been applied (`indeterminate`).

An answer from a node keeps its HTTP status and machine code. A request that never got an
answer has status 0: `unreachable` when no connection could be made or it broke, `timeout`
when the client stopped waiting.
"""

from __future__ import annotations

from typing import Any

from raftkv.core.errors import RaftKVError

__all__ = [
    "RETRYABLE_CODES",
    "ApiError",
    "ApiTimeout",
    "reference_error",
    "timeout_error",
    "unreachable_error",
]

#: Codes after which the same request may succeed on another node or a little later.
#: Retrying a write with the same (client_id, serial) after any of them is safe: the node's
#: client sessions return the first result instead of applying twice.
RETRYABLE_CODES = frozenset(
    {
        "unreachable",
        "timeout",
        "not_leader",
        "no_leader",
        "leader_changed",
        "proposal_dropped",  # a leadership transfer was under way: nothing was proposed
        "forward_failed",
        "error",  # the reference node's text error: no machine code to tell otherwise
    }
)


class ApiError(RaftKVError):
    """A request that failed, as the node (or the missing answer) described it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        indeterminate: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.indeterminate = indeterminate
        self.details: dict[str, Any] = dict(details or {})

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed on another node or after a pause."""
        return self.code in RETRYABLE_CODES

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r}, "
            f"indeterminate={self.indeterminate}, details={self.details!r})"
        )


class ApiTimeout(ApiError, TimeoutError):
    """The operation did not finish in time (client-side, or 504 `timeout` from the node);
    also a `TimeoutError`, so it can be caught by kind."""


def unreachable_error(addr: str, reason: str, *, indeterminate: bool) -> ApiError:
    """No answer because the connection failed or broke (status 0)."""
    return ApiError(0, "unreachable", f"{addr}: {reason}", indeterminate=indeterminate)


def timeout_error(addr: str, seconds: float, *, indeterminate: bool) -> ApiTimeout:
    """No answer within `seconds` (status 0)."""
    return ApiTimeout(
        0, "timeout", f"{addr}: no answer within {seconds:.3g} s", indeterminate=indeterminate
    )


def reference_error(text: str) -> ApiError:
    """The reference node's failure, HTTP 200 with `{"Err": "text"}`: it says nothing about
    the outcome, so it is indeterminate."""
    return ApiError(200, "error", text, indeterminate=True)
