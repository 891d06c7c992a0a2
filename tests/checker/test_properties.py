"""Property tests: real register executions always pass; the fast checker agrees with brute force."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from checker_brute_force import brute_force_linearizable
from checker_histories import KEY
from hypothesis import given, settings
from hypothesis import strategies as st

from raftkv.checker import Operation, check_key, find_anomaly, is_linearizable

VALUES = ["a", "b", "c"]


@dataclass(frozen=True)
class PlannedOp:
    """An operation of a sequential execution: where its interval lies around its point."""

    kind: str
    value: str
    lead: float
    lag: float
    fate: str  # "ok", "info" (took effect, outcome unknown) or "lost" (info, never applied)


planned_ops = st.builds(
    PlannedOp,
    kind=st.sampled_from(["read", "write"]),
    value=st.sampled_from(VALUES),
    lead=st.floats(0.0, 5.0),
    lag=st.floats(0.0, 5.0),
    fate=st.sampled_from(["ok", "ok", "ok", "info", "lost"]),
)


def run_register(plan: list[PlannedOp], unique_values: bool) -> list[Operation]:
    """Execute the plan on a register, op i taking effect at time i, inside its interval."""
    history = []
    value: str | None = None
    for point, step in enumerate(plan):
        invoke = point - step.lead
        complete = point + step.lag
        written = f"{step.value}{point}" if unique_values else step.value
        if step.kind == "write":
            if step.fate != "lost":
                value = written
            outcome = "ok" if step.fate == "ok" else "info"
            history.append(_op(point, "write", written, invoke, complete, outcome))
        elif step.fate == "ok":
            history.append(_op(point, "read", value, invoke, complete, "ok"))
        else:  # a read of unknown outcome returned nothing to rely on
            history.append(_op(point, "read", "garbage", invoke, complete, "info"))
    return history


def _op(
    process: int, kind: str, value: str | None, invoke: float, complete: float, outcome: str
) -> Operation:
    end = None if outcome == "info" else complete
    return Operation(process, kind, KEY, value, invoke, end, outcome)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(plan=st.lists(planned_ops, max_size=40), unique_values=st.booleans())
def test_histories_of_a_real_register_are_linearizable(
    plan: list[PlannedOp], unique_values: bool
) -> None:
    history = run_register(plan, unique_values)
    verdict = check_key(history) if history else None
    assert verdict is None or verdict.status == "ok", verdict.describe()
    assert find_anomaly(history) is None


arbitrary_ops = st.builds(
    lambda process, kind, value, invoke, length, outcome: Operation(
        process, kind, KEY, value, invoke, None if outcome == "info" else invoke + length, outcome
    ),
    process=st.integers(0, 1000),
    kind=st.sampled_from(["read", "write"]),
    value=st.sampled_from([None, "a", "b", "c"]),
    invoke=st.integers(0, 10).map(float),
    length=st.integers(0, 6).map(float),
    outcome=st.sampled_from(["ok", "ok", "ok", "info", "fail"]),
)


@settings(max_examples=600, deadline=None)
@given(ops=st.lists(arbitrary_ops, max_size=6, unique_by=lambda op: op.process))
def test_fast_checker_agrees_with_brute_force(ops: list[Operation]) -> None:
    expected = brute_force_linearizable(ops)
    assert is_linearizable(ops) == expected
    if find_anomaly(ops) is not None:
        assert not expected, "a named anomaly must always be a real violation"
    if ops and not expected:
        witness = check_key(ops).witness
        assert set(witness) <= set(ops)
        assert not brute_force_linearizable(witness), "the witness must fail on its own"


@settings(max_examples=300, deadline=None)
@given(
    plan=st.lists(planned_ops, min_size=1, max_size=7),
    victim=st.integers(0, 6),
    new_value=st.sampled_from([None, *VALUES]),
    shift=st.floats(-3.0, 3.0),
)
def test_fast_checker_agrees_with_brute_force_near_real_executions(
    plan: list[PlannedOp], victim: int, new_value: str | None, shift: float
) -> None:
    # Violations one change away from a valid history are the subtle ones.
    history = run_register(plan, unique_values=False)
    op = history[victim % len(history)]
    end = None if op.complete is None else op.complete + shift
    history[victim % len(history)] = dataclasses.replace(
        op, value=new_value, invoke=op.invoke + shift, complete=end
    )
    assert is_linearizable(history) == brute_force_linearizable(history)
