"""Everything a seed decides: cluster size, timing, fault rates and the workload.

One `random.Random(seed)` draws every option in a fixed order and then hands out the
sub-seeds of the components, so a seed (plus the same flags) replays the same run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace

from raftkv.core import CoreConfig

from .clients import Workload
from .network import NetworkFaults

TICK_MS = 10
"""Virtual milliseconds per step."""
CALM_SHARE = 0.15
"""Share of seeds with a perfect network and no crashes or partitions (only membership
changes, slow disks and the workload), so plain-weather bugs show too."""
STORM_SHARE = 0.2
"""Share of seeds with several times the usual loss, crash and partition rates."""


@dataclass(frozen=True, slots=True)
class Faults:
    """Per-step probabilities and durations (ms) of node and partition faults."""

    crash: float = 0.0
    restart_min: int = 100
    restart_max: int = 2000
    partition: float = 0.0
    asymmetric: float = 0.5
    """Share of partitions that block single directions instead of splitting groups."""
    partition_min: int = 200
    partition_max: int = 3000
    persist_max: int = 0
    """Upper bound of the fsync delay in ms (0: instant disk)."""
    persist_instant: float = 0.5
    """Probability that one write completes without delay."""
    membership: float = 0.0
    """Probability per operator turn (every few steps) of a membership change or transfer."""
    false_disconnect: float = 0.0
    """Probability per step that a live node is told a live peer's connection was lost."""
    store_sync: float = 1.0
    """Probability that the state store syncs after an apply batch (1: always, so a crash
    loses no applied state; 0: only at the start of a snapshot)."""
    snapshot_max: int = 0
    """Upper bound in ms of the time a node's own snapshot takes to copy (0: instant)."""
    install_max: int = 0
    """Upper bound in ms of the swap of the state store by an installed snapshot (0: instant)."""
    fresh_copy: float = 0.0
    """Probability that a snapshot to send is, as in production, a copy of the state store at
    its applied index (or a cached copy still recent enough) instead of the compacted snapshot
    (0: always the compacted one, sent at once)."""
    copy_max: int = 0
    """Upper bound in ms of taking that copy: the message leaves this much later (0: at once)."""
    pause: float = 0.0
    """Probability per step that a live node is paused (SIGSTOP, a long GC): it neither ticks,
    nor sends, nor learns that its disk finished, while what reaches it queues up; at resume
    it drains one connection after another in a random order, before its first tick."""
    pause_min: int = 200
    pause_max: int = 3000
    crash_writing: float = 0.0
    """Probability per step that a leader with a write in flight crashes: the window between
    sending entries and its own fsync of them (the crash loses the unsynced write). When the
    leader's disk is idle, a share of these crashes hits another node's write in flight."""
    slow_write: float = 0.0
    """Share of writes that take far longer than `persist_max` (a stalled fsync)."""
    slow_write_max: int = 0
    """Upper bound in ms of a stalled fsync."""
    fault_burst: float = 0.0
    """Probability that a membership change or leadership transfer is followed at once by a
    crash or a partition (changes under faults)."""


@dataclass(frozen=True, slots=True)
class SimOptions:
    seed: int
    nodes: int
    steps: int
    liveness_steps: int
    config: CoreConfig
    network: NetworkFaults
    faults: Faults
    workload: Workload
    snapshot_every: int
    sub_seeds: tuple[int, ...]
    """Seeds of: network, storage, clients, operator, faults, cores, connection-loss hints,
    state stores, snapshot sends."""

    def describe(self) -> str:
        c, n, f, w = self.config, self.network, self.faults, self.workload
        return (
            f"seed={self.seed} nodes={self.nodes} steps={self.steps} "
            f"liveness_steps={self.liveness_steps} tick={TICK_MS}ms "
            f"heartbeat={c.heartbeat_interval} election={c.election_timeout_min}-"
            f"{c.election_timeout_max} disconnect_hints={c.campaign_on_leader_disconnect} "
            f"loss={n.loss:.3f} dup={n.duplicate:.3f} "
            f"delay={n.delay_min}-{n.delay_max} long_delay={n.long_delay:.3f} "
            f"crash={f.crash:.4f} partition={f.partition:.4f} asym={f.asymmetric:.2f} "
            f"fsync<={f.persist_max} membership={f.membership:.4f} "
            f"false_disconnect={f.false_disconnect:.4f} store_sync={f.store_sync:.2f} "
            f"snapshot<={f.snapshot_max} install<={f.install_max} "
            f"fresh_copy={f.fresh_copy:.2f} copy<={f.copy_max} "
            f"snapshot_every={self.snapshot_every} clients={w.clients} op_rate={w.op_rate:.2f} "
            f"reads={w.read_ratio:.2f} keys={w.keys} deadline={w.deadline_ms} pre_vote={c.pre_vote} "
            f"check_quorum={c.check_quorum} pause={f.pause:.4f} crash_writing={f.crash_writing:.3f} "
            f"slow_write={f.slow_write:.3f}<={f.slow_write_max} fault_burst={f.fault_burst:.2f}"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def derive_options(seed: int, steps: int, nodes: int | None = None) -> SimOptions:
    """Draw every option from `seed`; `nodes` (1 to 7) overrides the drawn cluster size (3-5).

    NB: the order of the draws is part of what a seed means; append new draws at the end.
    """
    _check_sizes(steps, nodes)
    rng = random.Random(seed)
    drawn_nodes = rng.randint(3, 5)
    config = _draw_config(rng)
    weather = rng.random()
    calm = weather < CALM_SHARE
    storm = 1.0 - weather < STORM_SHARE
    network = _draw_network(rng, calm, storm)
    faults = _draw_faults(rng, calm, storm)
    workload = Workload(
        clients=rng.randint(2, 5),
        op_rate=rng.uniform(0.05, 0.3),
        read_ratio=rng.uniform(0.2, 0.6),
        keys=rng.randint(1, 4),
        deadline_ms=config.election_timeout_min * 6,
    )
    snapshot_every = rng.choice((0, 10, 40, 150))
    sub_seeds = tuple(rng.getrandbits(63) for _ in range(7))
    false_disconnect = 0.0 if calm else rng.uniform(0.0, 0.004 * (5.0 if storm else 1.0))
    faults = replace(faults, false_disconnect=false_disconnect)
    # Half the seeds elect on timeouts alone: contested elections (split votes) stay common.
    config = replace(config, campaign_on_leader_disconnect=rng.random() < 0.5)
    faults, sub_seeds = _draw_appended(rng, faults, sub_seeds)
    config, faults, workload, few = _draw_swarm(rng, config, faults, workload, calm)
    return SimOptions(
        seed=seed,
        nodes=(few or drawn_nodes) if nodes is None else nodes,
        steps=steps,
        liveness_steps=max(1500, 40 * config.election_timeout_min // TICK_MS),
        config=config,
        network=network,
        faults=faults,
        workload=workload,
        snapshot_every=snapshot_every,
        sub_seeds=sub_seeds,
    )


def _check_sizes(steps: int, nodes: int | None) -> None:
    if nodes is not None and not 1 <= nodes <= 7:
        raise ValueError(f"--nodes must be between 1 and 7, got {nodes}")
    if steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}")


def _draw_appended(
    rng: random.Random, faults: Faults, sub_seeds: tuple[int, ...]
) -> tuple[Faults, tuple[int, ...]]:
    """The draws added since, in the order they were added, each with its sub-seed."""
    faults = _draw_state_store(rng, faults)
    sub_seeds = (*sub_seeds, rng.getrandbits(63))
    faults = _draw_snapshot_sends(rng, faults)
    return faults, (*sub_seeds, rng.getrandbits(63))


def _draw_config(rng: random.Random) -> CoreConfig:
    heartbeat = rng.choice((30, 50, 80))
    election_min = heartbeat * rng.randint(4, 8)
    return CoreConfig(
        heartbeat_interval=heartbeat,
        election_timeout_min=election_min,
        election_timeout_max=election_min * 2,
        max_append_entries=rng.choice((4, 64, 512)),
        max_inflight=rng.randint(1, 4),
        max_promote_lag=rng.choice((50, 1000)),
    )


def _draw_network(rng: random.Random, calm: bool, storm: bool) -> NetworkFaults:
    return NetworkFaults(
        loss=0.0 if calm else rng.uniform(0.0, 0.25 if storm else 0.08),
        duplicate=0.0 if calm else rng.uniform(0.0, 0.05),
        delay_min=1,
        delay_max=rng.randint(2, 40),
        long_delay=0.0 if calm else rng.uniform(0.0, 0.02),
        long_delay_max=rng.choice((200, 1000)),
    )


def _draw_faults(rng: random.Random, calm: bool, storm: bool) -> Faults:
    scale = 5.0 if storm else 1.0
    return Faults(
        crash=0.0 if calm else rng.uniform(0.0, 0.004 * scale),
        restart_min=100,
        restart_max=rng.choice((500, 2000, 5000)),
        partition=0.0 if calm else rng.uniform(0.0, 0.004 * scale),
        asymmetric=rng.random(),
        partition_min=200,
        partition_max=rng.choice((1000, 3000)),
        persist_max=rng.choice((0, 5, 20, 60)),
        persist_instant=rng.random(),
        membership=rng.uniform(0.0, 0.05),
    )


def _draw_state_store(rng: random.Random, faults: Faults) -> Faults:
    return replace(
        faults,
        store_sync=rng.choice((0.0, 0.05, 0.3, 1.0)),
        snapshot_max=rng.choice((0, 50, 500, 3000)),
        install_max=rng.choice((0, 20, 200, 1000)),
    )


def _draw_snapshot_sends(rng: random.Random, faults: Faults) -> Faults:
    # Production always sends a copy of its state store; a share of seeds keeps the compacted
    # snapshot, so the runs that tested only that path stay as they were.
    return replace(
        faults,
        fresh_copy=rng.choice((0.0, 0.5, 1.0)),
        copy_max=rng.choice((0, 50, 500, 2000)),
    )


FEW_VOTERS_SHARE = 0.3
"""Share of seeds that target one or two voters (with learners) instead of three to five."""
IMPATIENT_SHARE = 0.4
"""Share of seeds whose clients give up after two election timeouts instead of six."""
SWARM_ON = 0.6
"""Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; FoundationDB, TigerBeetle's VOPR):
each seed switches every fault kind on with this probability and draws its own rate, so some
seeds run a few kinds hard instead of every seed running all of them thinly; a fault kind that
masks another (crashes end pauses, partitions end reads) is often absent."""


def _draw_swarm(
    rng: random.Random, config: CoreConfig, faults: Faults, workload: Workload, calm: bool
) -> tuple[CoreConfig, Faults, Workload, int]:
    """The swarm draws, made after every earlier draw of a seed (so those keep their values).

    Each seed keeps or drops each fault kind drawn before, and draws the newer kinds: pauses,
    crashes aimed at a write in flight, stalled fsyncs, faults right after membership changes;
    the core's optional protections (pre-vote, check-quorum) are off for a share of seeds,
    since safety must not rest on them; a share of seeds reads much more, a share has
    impatient clients; and a share runs one
    or two voters (plus learners), where the leader is most of a quorum by itself. Returns
    the voter count drawn here (0: keep the one drawn first).
    """
    on = [rng.random() < SWARM_ON for _ in range(6)]
    faults = replace(
        faults,
        crash=faults.crash if on[0] else 0.0,
        partition=faults.partition if on[1] else 0.0,
        false_disconnect=faults.false_disconnect if on[2] else 0.0,
    )
    pause = rng.uniform(0.0005, 0.006) if on[3] and not calm else 0.0
    crash_writing = rng.choice((0.0, 0.01, 0.03, 0.05)) if not calm else 0.0
    slow_write = rng.choice((0.0, 0.02, 0.05, 0.1))
    slow_write_max = rng.choice((150, 400, 1000))
    fault_burst = rng.choice((0.3, 0.8)) if on[4] and not calm else 0.0
    faults = replace(
        faults,
        pause=pause,
        pause_max=rng.choice((800, 2000, 4000)),
        crash_writing=crash_writing,
        slow_write=slow_write,
        slow_write_max=slow_write_max,
        fault_burst=fault_burst,
        membership=faults.membership * rng.choice((1.0, 3.0)) if on[5] else faults.membership,
    )
    config = replace(config, pre_vote=rng.random() < 0.7, check_quorum=rng.random() < 0.7)
    if rng.random() < 0.3:
        workload = replace(
            workload,
            op_rate=rng.uniform(0.3, 0.6),
            read_ratio=rng.uniform(0.5, 0.8),
        )
    if rng.random() < IMPATIENT_SHARE:
        # Impatient clients give up sooner and try another node: writes reach a new leader
        # while the old one is paused or cut off, and reads can then see what they missed.
        workload = replace(workload, deadline_ms=config.election_timeout_min * 2)
    few = rng.choice((1, 1, 2)) if rng.random() < FEW_VOTERS_SHARE else 0
    return config, faults, workload, few
