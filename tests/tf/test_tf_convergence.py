"""`ConvergenceExpectation` against fake replicas: what the agreed state must hold
(`missing_writes`), and the failures it reports, each naming nodes, applied index and digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from tf_fakes import FakePool, FakeReplica, fake_state

from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.deployer import Topology
from raftkv.tf.expectations import ConvergenceExpectation, missing_writes
from raftkv.tf.observer import Observer
from raftkv.tf.replicas import Replicas
from raftkv.tf.settle import Settled

A, B = "a" * 16, "b" * 16
WHERE = f"node-0, node-1 at applied index 9, kv_digest {A}"


WRITES = {"a": "1", "b": "2"}
MISSING = f"{WHERE}: 1 of 2 acknowledged writes missing (first: 'b' = '2', found {{}})"
EXTRA = f"{WHERE}: {{}} keys nobody acknowledged"

# (id, values read, the whole map or None, key count, exact, reason)
CASES = [
    ("exactly-the-writes", WRITES, None, 2, True, ""),
    ("a-write-missing", {"a": "1"}, None, 1, True, MISSING.format("None")),
    ("a-write-overwritten", {"a": "1", "b": "old"}, None, 2, False, MISSING.format("'old'")),
    (
        "an-extra-key-in-the-map",
        WRITES,
        WRITES | {"c": "3"},
        3,
        True,
        EXTRA.format(1) + " (first: 'c')",
    ),
    ("extra-keys-counted-without-a-map", WRITES, None, 5, True, EXTRA.format(3)),
    ("extra-keys-allowed", WRITES, None, 5, False, ""),
]


@pytest.mark.parametrize(
    ("values", "kv", "keys", "exact", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_missing_writes(
    values: dict[str, str], kv: dict[str, str] | None, keys: int, exact: bool, reason: str
) -> None:
    agreed = Settled(Replicas(9, A, keys, ("node-0", "node-1"), kv), values)
    assert missing_writes(agreed, WRITES, exact) == reason


@dataclass
class FakeRun:
    """The parts of a RunContext the expectation uses."""

    observer: Observer
    clients: FakePool
    acknowledged: dict[str, str]
    topology: Topology = field(default_factory=lambda: Topology(nodes=2))
    facts: dict[str, Any] = field(default_factory=dict)

    def fact(self, name: str, value: object) -> None:
        self.facts[name] = value


def cluster(digests: tuple[str, str], data: dict[str, str]) -> dict[str, FakeReplica]:
    """Two voters at applied index 9 whose /state leaves the map out."""
    return {
        f"node-{i}": FakeReplica(
            fake_state(
                i, voters=[0, 1], applied=9, digest=digest, keys=len(data), kv_omitted="large"
            ),
            dict(data),
        )
        for i, digest in enumerate(digests)
    }


async def check(replicas: dict[str, FakeReplica], acknowledged: dict[str, str]) -> FakeRun:
    observer = Observer(list(replicas), replicas.__getitem__, interval=0.01)
    run = FakeRun(observer, FakePool(replicas), acknowledged)
    async with observer:
        await ConvergenceExpectation(timeout=0.5).evaluate(cast(RunContext, run))
    return run


async def test_a_large_state_passes_on_digests_and_reads() -> None:
    run = await check(cluster((A, A), {"a": "1", "b": "2"}), {"a": "1", "b": "2"})
    assert run.facts["converged"] == {"voters": [0, 1], "keys": 2, "applied": 9, "digest": A}


async def test_a_node_with_another_digest_is_named_with_both_digests() -> None:
    with pytest.raises(ExpectationFailed) as caught:
        await check(cluster((A, B), {"a": "1"}), {"a": "1"})
    message = str(caught.value)
    assert f"replicas diverged at applied index 9: node-0 reports kv_digest {A}" in message
    assert f"node-1 reports kv_digest {B}" in message


async def test_a_lost_write_fails_after_the_timeout_with_what_is_missing() -> None:
    with pytest.raises(ExpectationFailed) as caught:
        await check(cluster((A, A), {"a": "1"}), {"a": "1", "lost": "x"})
    assert str(caught.value).startswith("timed out after 0.5 s waiting for voters [0, 1]")
    assert str(caught.value).endswith(
        f"{WHERE}: 1 of 2 acknowledged writes missing (first: 'lost' = 'x', found None)"
    )
