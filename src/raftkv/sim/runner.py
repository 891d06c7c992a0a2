"""One seeded run: a safety phase under faults, then a liveness phase, then the history check.

The safety phase runs `steps` steps with every fault the seed chose while the checkers watch.
The liveness phase (TigerBeetle-style) heals the network, restarts crashed nodes, stops new
faults and client operations, and requires convergence within `liveness_steps`: one leader,
a settled configuration, everything committed and applied everywhere, identical state
machines. Finally the client history must be linearizable per key.
"""

from __future__ import annotations

import random
import time
import traceback
from dataclasses import dataclass, field
from typing import Literal

from raftkv.core import InvariantViolation, MessageRejected, Role

from .checkers import SafetyViolation
from .cluster import Cluster, CoreFactory
from .faults import FaultInjector
from .linearizability import check_linearizable
from .node import make_core
from .operator import Operator
from .options import SimOptions

Status = Literal["ok", "safety", "liveness", "linearizability", "error"]
CONVERGENCE_CHECK_EVERY = 5
STAT_KINDS = (
    "crash",
    "pause",
    "start",
    "destroy",
    "partition",
    "operator",
    "snapshot",
    "install",
    "disconnect",
    "snapshot-start",
    "snapshot-dropped",
    "snapshot-lost",
    "store-sync",
    "store-lost",
    "store-restore",
    "install-torn",
    "replay-skip",
    "fresh-copy",
    "fresh-copy-newer",
    "fresh-copy-unwanted",
    "fresh-copy-undescribable",
    "fresh-copy-behind",
    "fresh-copy-lost",
)
OPERATOR_EVERY = 5
"""The operator looks at the cluster every this many steps (it reads the leader's status)."""


class LivenessFailure(Exception):
    """The cluster did not converge in the liveness phase."""


class LinearizabilityFailure(Exception):
    """The client history is not linearizable (or could not be checked in time)."""


@dataclass(slots=True)
class SeedResult:
    seed: int
    status: Status
    steps: int
    node_steps: int
    seconds: float
    digest: str
    checker: str = ""
    message: str = ""
    step: int = 0
    events: str = ""
    ops: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    """Events by kind (crash, start, partition, operator, install, snapshot, ...) and the
    highest term reached."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Simulation:
    """The pieces of one run, wired together; `run()` plays both phases."""

    def __init__(
        self, options: SimOptions, core_factory: CoreFactory = make_core, **cluster_kw: object
    ) -> None:
        self.options = options
        self.cluster = Cluster(options, core_factory, **cluster_kw)  # type: ignore[arg-type]
        seeds = options.sub_seeds
        self.operator = Operator(random.Random(seeds[3]), options.nodes, options.faults.membership)
        self.faults = FaultInjector(random.Random(seeds[4]), options.faults)

    def bootstrap(self) -> None:
        self.operator.bootstrap(self.cluster)
        self.cluster.process()

    def step(self, safety_phase: bool = True) -> None:
        """One step (see the package docstring)."""
        cluster = self.cluster
        cluster.advance_clock()
        cluster.deliver()
        cluster.complete_writes()
        cluster.tick()
        if safety_phase:
            self.faults.act(cluster)
        if (
            cluster.step_no % OPERATOR_EVERY == 0
            and self.operator.act(cluster, random_ops=safety_phase)
            and safety_phase
        ):
            self.faults.burst(cluster)
        cluster.clients.act(cluster.nodes, cluster.now, issue=safety_phase)
        cluster.process()

    def run_safety(self) -> None:
        for _ in range(self.options.steps):
            self.step()

    def run_liveness(self) -> None:
        cluster = self.cluster
        self.faults.stop(cluster)
        cluster.process()
        reason = "not checked"
        for n in range(self.options.liveness_steps):
            self.step(safety_phase=False)
            if n % CONVERGENCE_CHECK_EVERY == 0:
                reason = pending_convergence(cluster)
                if not reason and not cluster.clients.pending:
                    return
        raise LivenessFailure(f"no convergence after {self.options.liveness_steps} steps: {reason}")

    def run(self) -> None:
        self.bootstrap()
        self.run_safety()
        self.run_liveness()
        self.cluster.clients.expire_all()
        verdict = check_linearizable(self.cluster.clients.history)
        if verdict:
            raise LinearizabilityFailure(verdict)


def pending_convergence(cluster: Cluster) -> str:
    """Why the cluster has not converged yet ("" once it has)."""
    leaders = [n for n in cluster.nodes.values() if n.role == Role.LEADER]
    if len(leaders) != 1:
        return f"pending a single leader ({len(leaders)} leaders)"
    leader = leaders[0]
    status = leader.core.status()
    newest = max(node.core.status().term for node in cluster.nodes.values())
    if status.term < newest:
        # A deposed leader that has not heard of the newer term yet (paused, or cut off with
        # check-quorum off): not the settled leader.
        return f"pending a leader of term {newest} (leader {leader.id} is at {status.term})"
    membership = status.membership
    if membership.joint or status.membership_index > status.commit_index:
        return "pending a committed, uniform configuration"
    if status.commit_index < status.last_index:
        return f"pending commit at leader {leader.id} ({status.commit_index} < {status.last_index})"
    known = cluster.checkers.state_machine.max_committed
    if status.commit_index < known:
        raise SafetyViolation(
            "committed-entries",
            f"the settled leader {leader.id} has committed up to {status.commit_index}, "
            f"but index {known} was applied before: committed entries were lost",
        )
    if leader.applied != status.commit_index:
        # NB: compare replicas with the leader's state only once it is complete (a stalled
        # fsync holds back the leader's own apply).
        return f"pending apply at leader {leader.id} ({leader.applied} of {status.commit_index})"
    for node_id in sorted(membership.nodes):
        node = cluster.nodes.get(node_id)
        if node is None:
            return f"pending member {node_id} (not running)"
        if node.applied != status.commit_index:
            return f"pending replica convergence (node {node_id} applied {node.applied} of {status.commit_index})"
        if node.sm.kv != leader.sm.kv:
            raise SafetyViolation(
                "state-machine-safety",
                f"nodes {leader.id} and {node_id} applied up to {node.applied} but hold different data",
            )
    return ""


def run_seed(
    options: SimOptions, core_factory: CoreFactory = make_core, **cluster_kw: object
) -> SeedResult:
    """Run one seed to completion and classify the outcome; never raises for a failing run."""
    started = time.perf_counter()
    sim: Simulation | None = None
    status: Status = "ok"
    checker = message = ""
    try:
        sim = Simulation(options, core_factory, **cluster_kw)
        sim.run()
    except SafetyViolation as exc:
        status, checker, message = "safety", exc.checker, exc.message
    except InvariantViolation as exc:
        status, checker, message = "safety", "core-invariant", str(exc)
    except MessageRejected as exc:
        # Every message here comes from a real core: a refusal is a bug of its sender.
        status, checker, message = "safety", "peer-message-refused", str(exc)
    except LivenessFailure as exc:
        status, checker, message = "liveness", "liveness", str(exc)
    except LinearizabilityFailure as exc:
        status, checker, message = "linearizability", "linearizability", str(exc)
    except Exception as exc:
        status, checker = "error", type(exc).__name__
        message = f"{exc}\n{traceback.format_exc(limit=-6)}"
    cluster = sim.cluster if sim is not None else None
    return SeedResult(
        seed=options.seed,
        status=status,
        steps=cluster.step_no if cluster else 0,
        node_steps=cluster.node_steps if cluster else 0,
        seconds=time.perf_counter() - started,
        digest=cluster.events.digest() if cluster else "",
        checker=checker,
        message=message,
        step=cluster.step_no if cluster else 0,
        events=cluster.events.describe() if cluster and status != "ok" else "",
        ops=cluster.clients.history.counts() if cluster else {},
        stats=run_stats(cluster) if cluster else {},
    )


def run_stats(cluster: Cluster) -> dict[str, int]:
    """What happened in a run, to judge how hard it pushed (see `--verbose`)."""
    kinds = cluster.events.kinds
    stats = {kind: kinds[kind] for kind in STAT_KINDS if kind in kinds}
    stats["max_term"] = max((n.term for n in cluster.nodes.values()), default=0)
    stats["nodes_created"] = cluster.next_id
    return stats
