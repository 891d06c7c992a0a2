"""The state store in the simulator: what a crash loses, how a node recovers it, snapshots of
its own that finish late, and installs cut short (sim/state_store.py, sim/node.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sim_scenarios import SLOW, a_follower, converges_clean, counts, quiet_sim, step_until

from raftkv.core import Entry, EntryKind, InstallState
from raftkv.kv import Put, encode_command
from raftkv.sim.options import Faults, derive_options
from raftkv.sim.state_store import SimStateStore


def put(index: int, value: str) -> Entry:
    data = encode_command(Put("k", value, "c", index))
    return Entry(1, index, EntryKind.COMMAND, data)


def store_at(*values: str) -> SimStateStore:
    store = SimStateStore()
    for index, value in enumerate(values, start=1):
        store.sm.apply(index, put(index, value).data)
    return store


# -- the store on its own ---------------------------------------------------------------------


def test_a_crash_brings_the_store_back_whole_at_what_it_last_synced() -> None:
    store = store_at("a", "b")
    store.sync()
    store.sm.apply(3, put(3, "c").data)
    assert (store.applied_index, store.unsynced) == (3, 1)
    store.crash()
    assert (store.applied_index, store.durable_index, store.sm.get("k")) == (2, 2, "b")


def test_a_swap_cut_short_leaves_an_empty_store_and_a_finished_one_is_durable() -> None:
    source = store_at("a", "b", "c")
    snapshot = source.sync()
    store = store_at("x")
    store.sync()
    store.begin_swap()
    assert store.swapping and store.sm.get("k") == "x"  # the node still reads the old state
    store.crash()
    assert (store.applied_index, store.sm.get("k"), store.swapping) == (0, None, False)
    store.install(snapshot)
    store.crash()
    assert (store.applied_index, store.durable_index, store.sm.get("k")) == (3, 3, "c")


# -- whole clusters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "store_sync", [pytest.param(0.0, id="never-synced"), pytest.param(0.3, id="partly-synced")]
)
def test_a_crash_loses_unsynced_state_and_the_log_restores_it(store_sync: float) -> None:
    sim = quiet_sim(store_sync=store_sync)
    step_until(sim, lambda: sim.cluster.leader() is not None and a_follower(sim).applied > 30)
    node = a_follower(sim)
    applied, synced = node.applied, node.store.durable_index
    assert synced < applied
    sim.cluster.crash(node.id)
    store = sim.cluster.storages[node.id].state
    assert store.applied_index == synced and counts(sim)["store-lost"] == 1
    restarted = sim.cluster.start(node.id)
    assert restarted.applied == synced
    # The commit floor: the restarted core starts at what the store holds (or the snapshot).
    assert restarted.core.status().applied_index == max(
        synced, sim.cluster.storages[node.id].log.snapshot_index
    )
    converges_clean(sim)
    assert restarted.applied > applied
    assert counts(sim).get("replay-skip", 0) == 0  # nothing the store held was handed out again


def test_an_install_cut_short_is_finished_from_the_snapshot_at_restart() -> None:
    sim = quiet_sim(snapshot_every=10, install_max=SLOW)
    cluster = sim.cluster
    step_until(sim, lambda: cluster.leader() is not None and a_follower(sim).applied > 5)
    node_id = a_follower(sim).id
    cluster.crash(node_id)
    leader = cluster.leader()
    assert leader is not None
    last = cluster.storages[node_id].log.last_index
    step_until(sim, lambda: leader.storage.purged_index > last + 10)
    node = cluster.start(node_id)
    step_until(sim, lambda: node.store.swapping)
    cluster.crash(node_id)
    assert counts(sim)["install-torn"] == 1
    storage = cluster.storages[node_id]
    assert storage.state.applied_index == 0 and storage.snapshot is not None
    cluster.options = replace(cluster.options, faults=Faults())  # later installs are quick
    for other in cluster.nodes.values():  # an install another node began while all were slow
        if other.waiting is not None and isinstance(other.waiting.command, InstallState):
            other.waiting.done_at = cluster.now
    node = cluster.start(node_id)
    assert counts(sim)["store-restore"] == 1
    assert node.applied == storage.snapshot.last_index
    converges_clean(sim)


def test_a_snapshot_finishing_after_an_install_moved_the_log_past_it_is_dropped() -> None:
    sim = quiet_sim(snapshot_every=10, snapshot_max=SLOW)
    cluster = sim.cluster
    step_until(
        sim, lambda: cluster.leader() is not None and a_follower(sim).snapshot_job is not None
    )
    node, leader = a_follower(sim), cluster.leader()
    assert leader is not None and node.snapshot_job is not None
    slow_copy = node.snapshot_job
    cluster.network.partition([[node.id], [n for n in cluster.nodes if n != node.id]])

    def leader_compacted_past_the_follower() -> bool:
        if leader.snapshot_job is not None:
            leader.finish_snapshot(leader.snapshot_job)  # the leader's copies are quick
        return leader.storage.purged_index > node.log.last_index

    step_until(sim, leader_compacted_past_the_follower)
    cluster.network.heal()
    step_until(sim, lambda: node.log.snapshot_index > slow_copy.index)
    installed = node.storage.snapshot
    assert installed is not None
    node.finish_snapshot(slow_copy)
    assert counts(sim)["snapshot-dropped"] == 1
    assert node.storage.snapshot == installed
    assert node.core.status().snapshot_index == installed.last_index
    converges_clean(sim)  # copies still under way hold back no convergence


def test_the_state_store_draws_come_after_every_other_draw_of_a_seed() -> None:
    """Seed 0 as it was before the state store was modelled: the same options and sub-seeds
    (the snapshot send draws, added later, come after these)."""
    # NB (issue 14): the swarm draws, made after all of these, switch crashes and false
    # disconnects off for seed 0 and triple its membership rate (was crash=0.0101
    # membership=0.0365 false_disconnect=0.0110); every draw before them is unchanged.
    before = (
        "seed=0 nodes=4 steps=2000 liveness_steps=1500 tick=10ms heartbeat=50 election=200-400 "
        "disconnect_hints=True loss=0.207 dup=0.048 delay=1-24 long_delay=0.012 crash=0.0000 "
        "partition=0.0028 asym=0.09 fsync<=5 membership=0.1095 false_disconnect=0.0000 "
        "snapshot_every=40 clients=4 op_rate=0.17 reads=0.24 keys=4"
    )
    options = derive_options(0, 2000)
    described = options.describe()
    later = r" store_sync=\S+ snapshot<=\S+ install<=\S+ fresh_copy=\S+ copy<=\S+| deadline=.*"
    assert re.sub(later, "", described) == before
    assert options.sub_seeds[:7] == (
        5906863297837340345,
        1885974311722489788,
        5096131404122784705,
        4083125530891472902,
        4808638572204979102,
        574427760717438915,
        8471343414474329530,
    )
    assert len(options.sub_seeds) == 9
