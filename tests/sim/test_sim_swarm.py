"""Swarm testing and the faults aimed at dangerous windows: each seed draws its own mix, a
paused node stops its clock and its output but not its inputs, a share of crashes hits a node
whose write is in flight, and the operator replaces voters in one change."""

from __future__ import annotations

import random
from dataclasses import replace

from sim_scenarios import converges_clean, counts, quiet_sim, step_until, the_leader

from raftkv.core import Role
from raftkv.sim.faults import FaultInjector
from raftkv.sim.options import Faults, derive_options
from raftkv.sim.runner import Simulation, run_seed

SEEDS = range(200)


def three_voters(sim: Simulation) -> bool:
    leader = sim.cluster.leader()
    if leader is None:
        return False
    membership = leader.core.status().membership
    return len(membership.voters) == 3 and not membership.joint


def test_each_seed_draws_its_own_mix_of_faults() -> None:
    options = [derive_options(seed, 2000) for seed in SEEDS]
    assert [o.describe() for o in options] == [derive_options(s, 2000).describe() for s in SEEDS]

    def share(has: object) -> float:
        return sum(1 for o in options if has(o)) / len(options)  # type: ignore[operator]

    # Every kind is on for some seeds and off for others.
    for has in (
        lambda o: o.faults.crash > 0,
        lambda o: o.faults.partition > 0,
        lambda o: o.faults.pause > 0,
        lambda o: o.faults.crash_writing > 0,
        lambda o: o.faults.slow_write > 0,
        lambda o: o.faults.fault_burst > 0,
        lambda o: not o.config.pre_vote,
        lambda o: not o.config.check_quorum,
        lambda o: o.nodes == 1,
        lambda o: o.nodes == 2,
        lambda o: o.workload.read_ratio > 0.6,
        lambda o: o.workload.deadline_ms < 3 * o.config.election_timeout_min,
    ):
        assert 0.02 < share(has) < 0.95
    # Seeds with a fault kind on draw different rates of it.
    assert len({o.faults.pause for o in options if o.faults.pause}) > 10


def test_nodes_given_on_the_command_line_win_over_the_swarm() -> None:
    assert {derive_options(seed, 100, nodes=3).nodes for seed in SEEDS} == {3}


def test_a_paused_node_keeps_its_inputs_but_not_its_clock_or_output() -> None:
    sim = quiet_sim()
    step_until(sim, lambda: three_voters(sim))
    leader = the_leader(sim)
    sent = sim.cluster.network.sent
    sim.cluster.pause(leader.id)
    clock = leader.core.status()
    for _ in range(300):  # longer than any election timeout
        sim.step()
    assert leader.id in sim.cluster.nodes and leader.id in sim.cluster.paused
    # No tick (its check-quorum never ran) and no input (the new leader's appends wait).
    assert leader.core.role is Role.LEADER
    assert clock.term == leader.core.term
    others = [n for n in sim.cluster.nodes.values() if n is not leader]
    assert any(n.role is Role.LEADER and n.term > clock.term for n in others)
    assert sim.cluster.network.sent > sent  # the others went on
    assert sim.cluster.held[leader.id]
    sim.cluster.resume(leader.id, random.Random(1))
    assert leader.core.role is not Role.LEADER  # it drained its queue: a newer term
    assert counts(sim)["pause"] == 1 and counts(sim)["resume"] == 1
    converges_clean(sim)


def test_the_leader_crashes_while_its_write_is_in_flight() -> None:
    sim = quiet_sim(persist_max=50, persist_instant=0.0)
    step_until(sim, lambda: three_voters(sim))
    leader = the_leader(sim)
    injector = FaultInjector(sim.faults.rng, Faults(crash_writing=1.0))
    step_until(sim, lambda: not leader.writing)
    injector.act(sim.cluster)
    assert leader.id in sim.cluster.nodes  # no write in flight: the window is closed
    step_until(sim, lambda: leader.writing)
    pending = leader.storage.pending
    assert pending is not None
    injector.act(sim.cluster)
    assert leader.id not in sim.cluster.nodes
    assert list(injector.down) == [leader.id]
    assert leader.storage.pending is None  # the unsynced write is lost


def test_the_operator_replaces_a_voter_in_one_change() -> None:
    options = derive_options(7, 3000, nodes=3)
    options = replace(options, faults=replace(options.faults, membership=0.3))
    sim = Simulation(options)
    labels: list[str] = []
    record = sim.cluster.record

    def spy(node: int, kind: str, payload: object = None) -> None:
        if kind == "operator":
            labels.append(str(payload))
        record(node, kind, payload)

    sim.cluster.record = spy  # type: ignore[method-assign]
    sim.run()
    replaced = [label for label in labels if label.startswith("replace") and "refused" not in label]
    assert replaced, labels


def test_swarm_seeds_with_the_new_faults_pass() -> None:
    """A few seeds that pause, aim crashes at writes and burst faults after changes."""
    picked = [
        seed
        for seed in range(60)
        if (o := derive_options(seed, 1500)).faults.pause and o.faults.crash_writing
    ][:3]
    assert picked
    for seed in picked:
        result = run_seed(derive_options(seed, 1500))
        assert result.status == "ok", f"seed {seed}: {result.checker} {result.message}"
        assert result.stats.get("pause", 0) > 0


def test_a_retried_init_founds_a_new_cluster() -> None:
    """Seed 100864: the first node crashed four times before its first write was durable, each
    time after handing out client entries; the operator's retried init wrote other entries
    under the same (index, term). Nobody ever saw the lost ones: the retry is a new cluster
    (new cluster id, messages of the lost attempt refused), and the checkers start over."""
    result = run_seed(derive_options(100864, 2000))
    assert result.status == "ok", result.message
