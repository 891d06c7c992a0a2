"""The virtual network: loss, duplication, delay and reordering, partitions, determinism."""

from __future__ import annotations

import random

import pytest

from raftkv.core import TimeoutNow
from raftkv.sim.network import Network, NetworkFaults


def msg(frm: int, to: int, term: int = 1) -> TimeoutNow:
    return TimeoutNow(term=term, frm=frm, to=to)


def drain(net: Network, until: int = 10_000) -> list[TimeoutNow]:
    return net.due(until)  # type: ignore[return-value]


def test_without_faults_every_message_arrives_within_the_delay_bounds() -> None:
    net = Network(random.Random(1), NetworkFaults(delay_min=5, delay_max=9))
    for term in range(50):
        net.send(msg(0, 1, term), now=100)
    assert net.due(104) == []
    arrived = drain(net, 109)
    assert sorted(m.term for m in arrived) == list(range(50))
    assert len(net) == 0


def test_random_delays_reorder_messages_on_one_link() -> None:
    net = Network(random.Random(2), NetworkFaults(delay_min=1, delay_max=30))
    for term in range(40):
        net.send(msg(0, 1, term), now=0)
    terms = [m.term for m in drain(net)]
    assert terms != sorted(terms)


def test_full_loss_drops_everything_and_counts_it() -> None:
    net = Network(random.Random(3), NetworkFaults(loss=1.0))
    for _ in range(10):
        net.send(msg(0, 1), now=0)
    assert drain(net) == []
    assert net.dropped == 10


def test_full_duplication_delivers_each_message_twice() -> None:
    net = Network(random.Random(4), NetworkFaults(duplicate=1.0))
    for term in range(5):
        net.send(msg(0, 1, term), now=0)
    assert sorted(m.term for m in drain(net)) == sorted([*range(5), *range(5)])


def test_long_delays_hold_messages_back_beyond_the_normal_bound() -> None:
    net = Network(random.Random(5), NetworkFaults(delay_max=10, long_delay=1.0, long_delay_max=400))
    for _ in range(20):
        net.send(msg(0, 1), now=0)
    assert len(net.due(10)) < 20


def test_symmetric_partition_blocks_both_directions_and_eats_messages_in_flight() -> None:
    net = Network(random.Random(6), NetworkFaults())
    net.send(msg(0, 1), now=0)
    net.send(msg(1, 0), now=0)
    net.send(msg(1, 2), now=0)
    net.partition([[0], [1, 2]])
    assert [(m.frm, m.to) for m in drain(net)] == [(1, 2)]
    net.heal()
    net.send(msg(0, 1), now=0)
    assert len(drain(net)) == 1


def test_asymmetric_block_cuts_one_direction_only() -> None:
    net = Network(random.Random(7), NetworkFaults())
    net.block(0, 1)
    net.send(msg(0, 1), now=0)
    net.send(msg(1, 0), now=0)
    assert [(m.frm, m.to) for m in drain(net)] == [(1, 0)]


def test_same_seed_same_deliveries() -> None:
    def run(seed: int) -> list[tuple[int, int]]:
        net = Network(random.Random(seed), NetworkFaults(loss=0.2, duplicate=0.2, delay_max=50))
        out: list[tuple[int, int]] = []
        for t in range(100):
            net.send(msg(t % 3, (t + 1) % 3, t), now=t)
            out.extend((t, m.term) for m in net.due(t))
        return out

    assert run(9) == run(9)
    assert run(9) != run(10)


def test_pop_any_takes_a_message_regardless_of_time() -> None:
    net = Network(random.Random(8), NetworkFaults(delay_min=100, delay_max=100))
    net.send(msg(0, 1, 1), now=0)
    net.send(msg(0, 1, 2), now=0)
    first = net.pop_any(1)
    assert first is not None and len(net) == 1
    assert net.pop_any(0) is not None and net.pop_any(0) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"loss": 1.5}, {"duplicate": -0.1}, {"delay_min": 10, "delay_max": 5}],
    ids=["loss>1", "dup<0", "min>max"],
)
def test_bad_knobs_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NetworkFaults(**kwargs)  # type: ignore[arg-type]
