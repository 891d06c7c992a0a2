"""Hand-built scenarios over the real core: a quiet three-voter cluster that a test drives
step by step, making the faults itself, and the helpers to wait for a state and to check the
end (used by the state store and snapshot send tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from raftkv.sim.clients import Workload
from raftkv.sim.linearizability import check_linearizable
from raftkv.sim.network import NetworkFaults
from raftkv.sim.node import SimNode
from raftkv.sim.options import Faults, derive_options
from raftkv.sim.runner import Simulation, pending_convergence

SLOW = 10**9
"""A disk operation (ms) that does not finish unless the test finishes it."""


def quiet_sim(snapshot_every: int = 0, **faults: Any) -> Simulation:
    """Three voters, a perfect network, no random faults: the test makes them. `faults` sets
    the disk and state store knobs of `Faults` (store_sync, snapshot_max, fresh_copy, ...)."""
    options = derive_options(7, steps=1, nodes=3)
    options = replace(
        options,
        network=NetworkFaults(),
        faults=Faults(**faults),
        workload=Workload(clients=3, op_rate=0.3, read_ratio=0.2, keys=2),
        snapshot_every=snapshot_every,
    )
    sim = Simulation(options)
    sim.bootstrap()
    return sim


def step_until(sim: Simulation, done: Callable[[], bool], limit: int = 3000) -> None:
    for _ in range(limit):
        if done():
            return
        sim.step()
    raise AssertionError(f"not reached in {limit} steps")


def the_leader(sim: Simulation) -> SimNode:
    leader = sim.cluster.leader()
    assert leader is not None
    return leader


def a_follower(sim: Simulation) -> SimNode:
    leader = the_leader(sim)
    return min((n for n in sim.cluster.nodes.values() if n is not leader), key=lambda n: n.id)


def counts(sim: Simulation) -> dict[str, int]:
    return sim.cluster.events.kinds


def converges_clean(sim: Simulation) -> None:
    """The liveness phase converges (equal state everywhere) and the history is linearizable."""
    sim.run_liveness()
    assert pending_convergence(sim.cluster) == ""
    sim.cluster.clients.expire_all()
    assert check_linearizable(sim.cluster.clients.history) == ""
