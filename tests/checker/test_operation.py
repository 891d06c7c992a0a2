"""Bad input gets a clear error: malformed operations and ill-formed client processes."""

from __future__ import annotations

import math
from typing import Any

import pytest
from checker_histories import r, w

from raftkv.checker import Operation, check_history, check_key, validate_processes

MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-kind", {"kind": "cas"}, "kind must be"),
    ("unknown-outcome", {"outcome": "maybe"}, "outcome must be"),
    ("infinite-invoke", {"invoke": math.inf}, "invoke time must be finite"),
    ("ok-without-completion", {"complete": None}, "needs a completion time"),
    ("fail-without-completion", {"outcome": "fail", "complete": None}, "needs a completion time"),
    ("info-with-completion", {"outcome": "info"}, "has no completion time"),
    ("completes-before-invoke", {"invoke": 5.0}, "completes before it is invoked"),
]


@pytest.mark.parametrize(
    ("changes", "error"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_operation_is_rejected(changes: dict[str, Any], error: str) -> None:
    fields: dict[str, Any] = {
        "process": 1,
        "kind": "write",
        "key": "k",
        "value": "a",
        "invoke": 1.0,
        "complete": 2.0,
        "outcome": "ok",
    }
    with pytest.raises(ValueError, match=error):
        Operation(**(fields | changes))


ILL_FORMED: list[tuple[str, list[Operation], str]] = [
    ("overlapping-operations", [w(1, "a", 0, 5), r(1, "a", 3, 4)], "overlapping operations"),
    ("continues-after-info", [w(1, "a", 0, None), r(1, "a", 3, 4)], "continued after an 'info'"),
]


@pytest.mark.parametrize(
    ("history", "error"), [case[1:] for case in ILL_FORMED], ids=[case[0] for case in ILL_FORMED]
)
def test_ill_formed_process_is_rejected(history: list[Operation], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        validate_processes(history)
    with pytest.raises(ValueError, match=error):
        check_key(history)
    with pytest.raises(ValueError, match=error):
        check_history(history)


def test_back_to_back_operations_of_one_process_are_fine() -> None:
    validate_processes([w(1, "a", 0, 1), r(1, "a", 1, 2), w(2, "b", 0, None), r(3, "b", 1, 2)])


def test_check_key_rejects_mixed_keys() -> None:
    other = Operation(2, "read", "other", None, 0.0, 1.0, "ok")
    with pytest.raises(ValueError, match="one key"):
        check_key([w(1, "a", 0, 1), other])


def test_check_key_rejects_an_empty_history() -> None:
    with pytest.raises(ValueError, match="at least one operation"):
        check_key([])


@pytest.mark.parametrize("time_limit", [0.0, -1.0, math.nan])
def test_time_limit_must_be_positive(time_limit: float) -> None:
    with pytest.raises(ValueError, match="time_limit must be a positive"):
        check_key([w(1, "a", 0, 1)], time_limit=time_limit)
    with pytest.raises(ValueError, match="time_limit must be a positive"):
        check_history([w(1, "a", 0, 1)], time_limit=time_limit)


def test_describe_shows_the_operation_on_one_line() -> None:
    assert w(3, "v", 1, 2.5).describe() == "p3 write 'k'='v' [1, 2.5] ok"
    assert r(4, None, 1, None).describe() == "p4 read 'k' -> None [1, …] info"
