"""`settle` against fake replicas: values from the maps while they are small, else read key by
key on every node at the agreed applied index; divergence ends the wait at once, anything
else is waited for until the timeout, which says what was missing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from tf_fakes import FakePool, FakeReplica, fake_state

from raftkv.client import ApiError
from raftkv.tf.observer import Observer, RuleBroken, WaitTimeout
from raftkv.tf.settle import Judge, Settled, nothing_more, read_keys, settle

NAMES = ("node-0", "node-1", "node-2")
VOTERS = frozenset({0, 1, 2})
A, B = "a" * 16, "b" * 16
DATA = {"a": "1", "b": "2", "c": "3"}


def replicas(*, applied: int = 7, digest: str = A, small: bool = False) -> dict[str, FakeReplica]:
    """Three replicas holding DATA; their /state carries the map only when `small`."""
    return {
        name: FakeReplica(state(i, applied, digest, small), dict(DATA))
        for i, name in enumerate(NAMES)
    }


def state(node_id: int, applied: int, digest: str, small: bool = False):
    kv, omitted = (dict(DATA), None) if small else (None, "3 keys exceed 2")
    return fake_state(
        node_id, applied=applied, digest=digest, keys=len(DATA), kv=kv, kv_omitted=omitted
    )


def observer_of(sources: dict[str, FakeReplica]) -> Observer:
    return Observer(list(sources), sources.__getitem__, interval=0.01, request_timeout=0.5)


async def settle_on(
    sources: dict[str, FakeReplica],
    keys: list[str],
    timeout: float,
    judge: Judge = nothing_more,
) -> Settled:
    """`settle` on the three replicas, observed for the call only."""
    async with observer_of(sources) as observer:
        return await settle(observer, FakePool(sources), VOTERS, keys, timeout, judge)


async def test_values_come_from_the_maps_while_they_are_small() -> None:
    sources = replicas(small=True)
    settled = await settle_on(sources, ["a", "zz"], 2.0)
    assert settled.values == {"a": "1"}
    assert settled.replicas.kv == DATA and settled.replicas.digest == A
    assert not any(source.reads for source in sources.values())


async def test_a_large_state_is_read_key_by_key_on_every_node() -> None:
    sources = replicas()
    settled = await settle_on(sources, ["a", "c", "zz"], 2.0)
    assert settled.values == {"a": "1", "c": "3"}
    assert (settled.replicas.applied, settled.replicas.kv, settled.replicas.keys) == (7, None, 3)
    assert all(sorted(source.reads) == ["a", "c", "zz"] for source in sources.values())


def another_value_on_node_2(sources: dict[str, FakeReplica]) -> None:
    sources["node-2"].data["b"] = "tampered"


def another_digest_on_node_1(sources: dict[str, FakeReplica]) -> None:
    sources["node-1"].state_now = state(1, 7, B)


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        (
            another_value_on_node_2,
            "node-0 and node-2 disagree on 'b' ('2' vs 'tampered') at node-0, node-1, node-2 "
            f"at applied index 7, kv_digest {A}",
        ),
        (
            another_digest_on_node_1,
            f"replicas diverged at applied index 7: node-0, node-2 report kv_digest {A}; "
            f"node-1 reports kv_digest {B}",
        ),
    ],
    ids=["a-value-read-differs", "a-digest-differs"],
)
async def test_a_divergence_ends_the_wait_at_once_naming_the_node(
    alter: Callable[[dict[str, FakeReplica]], None], message: str
) -> None:
    sources = replicas()
    alter(sources)
    started = time.monotonic()
    with pytest.raises(RuleBroken) as caught:
        await settle_on(sources, ["a", "b"], 10.0)
    assert time.monotonic() - started < 5.0
    assert str(caught.value).startswith(message)


async def test_a_node_that_applies_more_while_read_starts_a_new_round() -> None:
    sources = replicas()

    def move_on(key: str) -> None:
        for i, source in enumerate(sources.values()):
            source.state_now = state(i, 8, B)
        sources["node-1"].on_read = None

    sources["node-1"].on_read = move_on
    settled = await settle_on(sources, ["a"], 5.0)
    assert (settled.replicas.applied, settled.replicas.digest) == (8, B)
    assert sources["node-1"].reads == ["a", "a"], "read again in the second round"


async def test_failed_reads_are_waited_out_and_the_timeout_says_so() -> None:
    sources = replicas()

    def fail(key: str) -> None:
        sources["node-1"].error = ApiError(0, "unreachable", "127.0.0.1:1: connection refused")

    sources["node-1"].on_read = fail
    with pytest.raises(WaitTimeout) as caught:
        await settle_on(sources, ["a"], 0.5)
    assert "reading 1 keys on node-1 failed: unreachable: 127.0.0.1:1" in str(caught.value)


async def test_the_judge_is_waited_for_and_named_on_timeout() -> None:
    sources = replicas(small=True)
    verdicts = iter(["the write of 'x' is missing", ""])
    settled = await settle_on(sources, [], 2.0, lambda s: next(verdicts))
    assert settled.replicas.applied == 7
    with pytest.raises(WaitTimeout, match=r"state on every node: still missing 'x'$"):
        await settle_on(sources, [], 0.3, lambda s: "still missing 'x'")


async def test_read_keys_reads_each_key_once_a_few_at_a_time() -> None:
    source = FakeReplica(state(0, 1, A), {f"k{i}": str(i) for i in range(50)})
    found = await read_keys(source, [f"k{i}" for i in range(60)], concurrency=4)
    assert found == source.data
    assert sorted(source.reads) == sorted(f"k{i}" for i in range(60))
