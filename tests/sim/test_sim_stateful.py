"""Hypothesis drives the simulator step by step; the safety checkers are the invariants.

Rules are the adversary's moves: tick the clock, deliver any message in flight (in any
order), drop one, crash or restart a node, partition or heal the network, let clients issue
operations. Disks keep the seed's timing (fsync, state store syncs, snapshot copies and swaps). Every observation goes through the checkers as it happens; the invariant also
re-observes every node. Runs are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from raftkv.sim.clients import Workload
from raftkv.sim.cluster import Cluster
from raftkv.sim.linearizability import check_linearizable
from raftkv.sim.network import NetworkFaults
from raftkv.sim.options import Faults, derive_options
from raftkv.sim.runner import Simulation, pending_convergence

WARMUP_STEPS = 150
NODE = st.integers(min_value=0, max_value=4)


class SimulatorMachine(RuleBasedStateMachine):
    sim: Simulation

    @initialize(seed=st.integers(min_value=0, max_value=2**32), nodes=st.integers(3, 5))
    def start(self, seed: int, nodes: int) -> None:
        options = derive_options(seed, steps=1, nodes=nodes)
        options = replace(
            options,
            network=NetworkFaults(),
            faults=Faults(
                persist_max=options.faults.persist_max,
                store_sync=options.faults.store_sync,
                snapshot_max=options.faults.snapshot_max,
                install_max=options.faults.install_max,
            ),
            workload=Workload(clients=3, op_rate=0.0, read_ratio=0.3),
        )
        self.sim = Simulation(options)
        self.sim.bootstrap()
        for _ in range(WARMUP_STEPS):
            self.sim.step()

    @property
    def cluster(self) -> Cluster:
        return self.sim.cluster

    @rule(steps=st.integers(1, 30))
    def tick(self, steps: int) -> None:
        for _ in range(steps):
            self.sim.step()

    @rule(position=st.integers(0, 1000))
    def deliver_any(self, position: int) -> None:
        msg = self.cluster.network.pop_any(position)
        node = self.cluster.nodes.get(msg.to) if msg is not None else None
        if msg is not None and node is not None:
            node.core.step(msg)
            node.watch_role()
            self.cluster.process()

    @rule(position=st.integers(0, 1000))
    def drop(self, position: int) -> None:
        self.cluster.network.pop_any(position)

    @rule(node=NODE)
    def crash(self, node: int) -> None:
        if node in self.cluster.nodes:
            self.cluster.crash(node)

    @rule(node=NODE)
    def restart(self, node: int) -> None:
        if node in self.cluster.storages and node not in self.cluster.nodes:
            self.cluster.start(node)
            self.cluster.process()

    @rule(cut=st.lists(st.booleans(), min_size=5, max_size=5))
    def partition(self, cut: list[bool]) -> None:
        ids = sorted(self.cluster.storages)
        self.cluster.network.partition(
            [[n for n in ids if cut[n % 5]], [n for n in ids if not cut[n % 5]]]
        )

    @rule()
    def heal(self) -> None:
        self.cluster.network.heal()

    @rule()
    def clients_act(self) -> None:
        self.cluster.clients.issue(self.cluster.nodes, self.cluster.now, rate=1.0)
        self.cluster.process()

    @invariant()
    def every_node_passes_the_checkers(self) -> None:
        for node in list(self.cluster.nodes.values()):
            node.observe()

    def teardown(self) -> None:
        """Heal, restart, and require the cluster to converge (the liveness phase)."""
        if not hasattr(self, "sim"):
            return
        self.sim.run_liveness()
        assert pending_convergence(self.cluster) == ""
        self.cluster.clients.expire_all()
        assert check_linearizable(self.cluster.clients.history) == ""


TestSimulatorMachine = SimulatorMachine.TestCase
TestSimulatorMachine.settings = settings(
    derandomize=True,
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
