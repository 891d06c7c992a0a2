"""Durability shim: no acknowledgement leaves a node before the fsync it depends on.

Three (then four) drivers run in one event loop on real `DurableStore`s. A shim around each
store records what is durable when `persist` returns; a shim transport checks every message as
it leaves against its sender's durable state (Raft thesis §3.8: persist currentTerm, votedFor
and the log before responding), and a shim state machine checks that only durable entries are
applied. A control run with a store that reports durability late proves the checks can fail.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from raftkv.core import (
    AppendResponse,
    Entry,
    HardState,
    InstallSnapshot,
    Message,
    NodeInfo,
    RawNode,
    SnapshotRequest,
    SnapshotResponse,
    VoteRequest,
    VoteResponse,
)
from raftkv.core.config import CoreConfig
from raftkv.kv import Applied, Put, StateStore, encode_command
from raftkv.node.driver import Driver, now_ms
from raftkv.node.state_snapshots import StateFiles, install_token
from raftkv.node.transport import PeerBook
from raftkv.storage import DurableStore

CORE = CoreConfig(heartbeat_interval=50, election_timeout_min=300, election_timeout_max=600)
LOG = logging.getLogger("test.durability")


class ShimStore:
    """A DurableStore that remembers what was durable when each persist returned."""

    def __init__(self, inner: DurableStore, report_late: bool = False) -> None:
        self.inner = inner
        self.report_late = report_late
        self.hard_state = HardState()
        self.last_index = 0

    async def persist(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: InstallSnapshot | None = None,
    ) -> None:
        await self.inner.persist(hard_state, entries, snapshot)
        if self.report_late:
            # The control: durability becomes known only after the caller moved on.
            asyncio.get_running_loop().call_soon(self._record, hard_state, entries, snapshot)
        else:
            self._record(hard_state, entries, snapshot)

    def _record(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Any
    ) -> None:
        if snapshot is not None:
            self.last_index = max(self.last_index, snapshot.meta.last_index)
        if entries:
            self.last_index = entries[-1].index
        if hard_state is not None:
            self.hard_state = hard_state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ShimStateStore(StateStore):
    def __init__(self, path: Path, store: ShimStore, violations: list[str]) -> None:
        super().__init__(path)
        self.store = store
        self.violations = violations

    def apply_entries(self, entries: Sequence[Entry]) -> Applied:
        for entry in entries:
            if entry.index > max(self.applied_index, self.store.last_index):
                self.violations.append(f"applied {entry.index} before it was durable")
        return super().apply_entries(entries)


def durability_violation(msg: Message, store: ShimStore) -> str | None:
    """What the message promises that its sender has not made durable, if anything."""
    hard = store.hard_state
    pre_vote = isinstance(msg, VoteRequest | VoteResponse) and msg.pre_vote
    if not pre_vote and msg.term > hard.term:
        return f"{msg.describe()} left before term {msg.term} was durable (durable {hard.term})"
    if isinstance(msg, VoteRequest) and not pre_vote and hard.vote != msg.frm:
        return f"{msg.describe()} left before the self-vote was durable"
    if isinstance(msg, VoteResponse) and msg.granted and not pre_vote and hard.vote != msg.to:
        return f"{msg.describe()} granted before the vote was durable"
    if isinstance(msg, AppendResponse) and msg.success and msg.match_index > store.last_index:
        return f"{msg.describe()} acknowledged beyond durable index {store.last_index}"
    if isinstance(msg, SnapshotResponse) and msg.last_index > store.last_index:
        return f"{msg.describe()} acknowledged a snapshot that is not durable"
    return None


class ShimNetwork:
    """Delivers messages between in-process drivers, checking each as it leaves."""

    def __init__(self) -> None:
        self.drivers: dict[int, Driver] = {}
        self.stores: dict[int, ShimStore] = {}
        self.violations: list[str] = []
        self.checked = 0
        self.transfers: set[asyncio.Task[None]] = set()
        self.final_states: dict[int, tuple[list[tuple[str, str]], int]] = {}
        """Each node's keys and digest when the cluster stopped."""
        self.isolated: set[int] = set()
        """Nodes cut off from every other (their messages, both ways, are lost)."""

    def transport_for(self, node_id: int) -> Any:
        network = self

        class Sender:
            def send(self, msg: Message) -> None:
                network.send(node_id, msg)

            def forget_unaddressable(self) -> None:
                """Every node of this network is reachable."""

        return Sender()

    def send(self, sender: int, msg: Message) -> None:
        self.checked += 1
        problem = durability_violation(msg, self.stores[sender])
        if problem is not None:
            self.violations.append(problem)
        receiver = self.drivers.get(msg.to)
        if receiver is None or {sender, msg.to} & self.isolated:
            return
        if isinstance(msg, SnapshotRequest):
            task = asyncio.create_task(self.send_snapshot(self.drivers[sender], receiver, msg))
            self.transfers.add(task)
            task.add_done_callback(self.transfers.discard)
            return
        asyncio.get_running_loop().call_soon(receiver.step, msg)

    async def send_snapshot(self, sender: Driver, receiver: Driver, msg: SnapshotRequest) -> None:
        """What the transport and the receiving route do: a state file, staged and named."""
        to_send = await sender.snapshot_to_send(msg)
        if to_send is None:
            return
        staged = receiver.files.install_path(to_send.meta.last_index)
        staged.write_bytes(to_send.file.path.read_bytes())
        receiver.step(
            msgspec.structs.replace(msg, meta=to_send.meta, data=install_token(staged.name))
        )


def start_driver(
    network: ShimNetwork, node_id: int, tmp_path: Path, report_late: bool
) -> asyncio.Task[None]:
    store = ShimStore(DurableStore.open(tmp_path / f"n{node_id}"), report_late)
    boot, _ = store.inner.recover()
    core = RawNode(node_id, CORE, random.Random(node_id), now_ms(), boot)
    data_dir = tmp_path / f"n{node_id}"
    state = ShimStateStore(data_dir / "state.sqlite3", store, network.violations)
    driver = Driver(
        node_id=node_id,
        core=core,
        store=store,  # type: ignore[arg-type]
        state_files=StateFiles(state, data_dir / "snapshots"),
        transport=network.transport_for(node_id),
        peers=PeerBook(static_addrs={}),
        snapshot_threshold=20,
        log=LOG,
    )
    network.drivers[node_id] = driver
    network.stores[node_id] = store
    return asyncio.create_task(driver.run())


async def wait_until(driver: Driver, predicate: Any) -> Any:
    return await asyncio.wait_for(driver.watch(predicate), 10)


async def form_cluster(leader: Driver) -> None:
    """The reference workload: init node 0, learners 1 and 2, voters {0,1,2}."""
    index = await leader.call(lambda core: core.initialize(NodeInfo("n0"), "cluster"))
    await wait_until(leader, lambda st: st.commit_index >= index)
    for learner in (1, 2):
        index = await leader.call(lambda c, n=learner: c.add_learner(n, NodeInfo(f"n{n}")))
        await wait_until(leader, lambda st, n=learner, i=index: st.progress[n].match_index >= i)
    await leader.call(lambda core: core.change_membership({0, 1, 2}, False))
    await wait_until(leader, lambda st: st.committed_membership.configs == ({0, 1, 2},))


async def stop_cluster(network: ShimNetwork, tasks: list[asyncio.Task[None]]) -> None:
    for driver in network.drivers.values():
        driver.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    for store in network.stores.values():
        await store.inner.close()
    for node_id, driver in network.drivers.items():
        await driver.wait_snapshot_task()
        network.final_states[node_id] = (driver.sm.scan("", None, 100), driver.sm.digest.value)
        driver.files.close()


async def run_cluster(tmp_path: Path, report_late: bool) -> ShimNetwork:
    network = ShimNetwork()
    tasks = [start_driver(network, i, tmp_path, report_late) for i in range(4)]
    leader = network.drivers[0]
    try:
        await form_cluster(leader)
        for serial in range(1, 61):
            command = encode_command(Put(f"k{serial % 7}", f"v{serial}", "shim", serial))
            assert (await asyncio.wait_for(leader.propose(command), 10)).ok
        # A late learner catches up by snapshot (threshold 20): SnapshotResponse is checked too.
        index = await leader.call(lambda core: core.add_learner(3, NodeInfo("n3")))
        await wait_until(leader, lambda st: st.progress[3].match_index >= index)
        await asyncio.sleep(0.2)
    finally:
        await stop_cluster(network, tasks)
    return network


async def test_no_acknowledgement_leaves_before_its_fsync(tmp_path: Path) -> None:
    network = await run_cluster(tmp_path, report_late=False)
    assert network.violations == []
    assert network.checked > 100
    states = list(network.final_states.values())
    assert all(state == states[0] for state in states) and len(states[0][0]) == 7
    assert network.drivers[3].stats.snapshots_installed >= 1


async def test_the_shim_catches_an_acknowledgement_that_leaves_early(tmp_path: Path) -> None:
    network = await run_cluster(tmp_path, report_late=True)
    assert any("acknowledged beyond durable index" in v for v in network.violations)
