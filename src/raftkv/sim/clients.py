"""Concurrent simulated clients: `Put` writes through the leader and ReadIndex reads anywhere.

A write completes ok when its (term, index) entry is applied at the node it was proposed to
(with the `KvResult`), fail when that index is applied with another term or `propose` raised,
info (unknown) when the node crashed, a snapshot skipped past the index or the deadline
passed; after an info the client forgets which node it believed led. A read completes ok with the node's value once applied >= its read index, fail when
the `ReadState` is not ok. After an info the client continues under a new process id.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from raftkv.core import Entry, NodeId, RaftKVError, ReadState
from raftkv.kv import KvResult, Put, encode_command

from .history import History, OpRecord

MAX_REDIRECTS = 1
"""A write refused with a leader hint is retried once at the hinted node (nothing was
appended, so the retry is the same operation)."""
FOLLOWER_READS = 0.5
ANYWHERE_WRITES = 0.3
"""Share of writes sent to a random node (as through a load balancer): a follower redirects
them to the leader it knows, so writes reach a new leader while an old one is cut off."""
"""Share of reads sent to a random node instead of the believed leader."""
OPS_PER_KEY = 300
"""Move on to a fresh key after this many operations (keeps the per-key check fast)."""


@dataclass(slots=True)
class Pending:
    client: SimClient
    op: OpRecord
    node: NodeId
    deadline: int
    term: int = 0
    index: int = 0
    read_index: int = -1


@dataclass(slots=True)
class SimClient:
    client_id: str
    process: int
    serial: int = 0
    leader_hint: NodeId | None = None
    busy: bool = False


class NodeView(Protocol):
    id: NodeId
    core: Any

    @property
    def applied(self) -> int: ...
    @property
    def sm(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Workload:
    clients: int = 3
    op_rate: float = 0.2
    """Probability per step that an idle client starts an operation."""
    read_ratio: float = 0.4
    keys: int = 3
    deadline_ms: int = 3000


class Clients:
    """The clients and the oracle that records what they saw."""

    def __init__(self, rng: random.Random, workload: Workload) -> None:
        self.rng = rng
        self.workload = workload
        self.history = History()
        self._next_process = 0
        self.clients = [self._new_client() for _ in range(workload.clients)]
        self._key_gen = 0
        self.keys = [self._fresh_key() for _ in range(workload.keys)]
        self._key_ops = [0] * workload.keys
        self._writes: dict[tuple[NodeId, int], Pending] = {}
        self._reads: dict[int, Pending] = {}
        self._waiting: dict[NodeId, list[Pending]] = {}
        self._next_ctx = 0
        self._values = 0
        self.hold: Callable[[NodeId, str, int], bool] = lambda node_id, source, ctx: False
        """Whether the cluster holds this read, from this client's connection, for later (its
        node is paused)."""

    def _new_client(self) -> SimClient:
        self._next_process += 1
        return SimClient(client_id=f"c{self.rng.getrandbits(48):012x}", process=self._next_process)

    def _fresh_key(self) -> str:
        self._key_gen += 1
        return f"key-{self._key_gen}"

    def _pick_key(self) -> str:
        slot = self.rng.randrange(len(self.keys))
        self._key_ops[slot] += 1
        if self._key_ops[slot] > OPS_PER_KEY:
            self.keys[slot] = self._fresh_key()
            self._key_ops[slot] = 1
        return self.keys[slot]

    @property
    def pending(self) -> int:
        return len(self._writes) + len(self._reads) + sum(map(len, self._waiting.values()))

    def act(self, nodes: dict[NodeId, Any], now: int, issue: bool) -> None:
        """One step: expire overdue operations, then let idle clients start new ones."""
        self._expire(now)
        if issue:
            self.issue(nodes, now, self.workload.op_rate)

    def issue(self, nodes: dict[NodeId, Any], now: int, rate: float) -> None:
        """Each idle client starts an operation with probability `rate`."""
        if not nodes:
            return
        rng = self.rng
        for client in self.clients:
            if client.busy or rng.random() >= rate:
                continue
            if rng.random() < self.workload.read_ratio:
                # Half the reads go to any node: ReadIndex must also be linearizable at followers.
                anywhere = rng.random() < FOLLOWER_READS
                self._read(client, self._target(client, nodes, anywhere), now)
            else:
                anywhere = rng.random() < ANYWHERE_WRITES
                self._write(client, self._target(client, nodes, anywhere), now, nodes)

    def _target(self, client: SimClient, nodes: dict[NodeId, Any], anywhere: bool = False) -> Any:
        hint = client.leader_hint
        if hint is not None and hint in nodes and not anywhere:
            return nodes[hint]
        ids = sorted(nodes)
        return nodes[ids[self.rng.randrange(len(ids))]]

    def _write(self, client: SimClient, node: Any, now: int, nodes: dict[NodeId, Any]) -> None:
        self._values += 1
        key = self._pick_key()
        value = f"v{self._values}"
        client.serial += 1
        op = self.history.invoke(client.process, "write", key, value)
        data = encode_command(Put(key, value, client.client_id, client.serial))
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                term, index = node.core.propose(data)
                break
            except RaftKVError as exc:
                client.leader_hint = getattr(exc, "leader_id", None)
                if client.leader_hint not in nodes or client.leader_hint == node.id:
                    self.history.end(op, "fail")
                    return
                node = nodes[client.leader_hint]
        else:
            self.history.end(op, "fail")
            return
        client.busy = True
        client.leader_hint = node.id
        stale = self._writes.pop((node.id, index), None)
        if stale is not None:
            # The node's log was truncated below `index` since: the older proposal is gone
            # from it, but it is only known to be lost once applied elsewhere, so: unknown.
            self._finish(stale, "info")
        self._writes[(node.id, index)] = Pending(
            client, op, node.id, now + self.workload.deadline_ms, term, index
        )

    def _read(self, client: SimClient, node: Any, now: int) -> None:
        self._next_ctx += 1
        ctx = self._next_ctx
        op = self.history.invoke(client.process, "read", self._pick_key(), None)
        client.busy = True
        self._reads[ctx] = Pending(client, op, node.id, now + self.workload.deadline_ms)
        if not self.hold(node.id, client.client_id, ctx):
            node.core.read_index(ctx)

    def on_applied(self, node: NodeView, entry: Entry, result: KvResult | None) -> None:
        pending = self._writes.pop((node.id, entry.index), None) if self._writes else None
        if pending is None:
            return
        if entry.term == pending.term and result is not None:
            self._finish(pending, "ok" if result.ok else "fail")
        else:
            self._finish(pending, "fail")

    def on_snapshot(self, node: NodeView, index: int) -> None:
        """A snapshot replaced the node's state: writes it covers can no longer be told apart."""
        for key in [k for k in self._writes if k[0] == node.id and k[1] <= index]:
            self._finish(self._writes.pop(key), "info")

    def on_read_state(self, node: NodeView, read_state: ReadState) -> None:
        pending = self._reads.pop(read_state.ctx, None)
        if pending is None:
            return
        if not read_state.ok:
            pending.client.leader_hint = read_state.leader_id
            self._finish(pending, "fail")
            return
        pending.read_index = read_state.index
        self._waiting.setdefault(node.id, []).append(pending)
        self.on_progress(node)

    def on_progress(self, node: NodeView) -> None:
        """Serve the reads waiting at `node` whose read index is now applied."""
        waiting = self._waiting.get(node.id)
        if not waiting:
            return
        applied = node.applied
        still = []
        for pending in waiting:
            if pending.read_index <= applied:
                self._finish(pending, "ok", node.sm.get(pending.op.key))
            else:
                still.append(pending)
        self._waiting[node.id] = still

    def on_crash(self, node_id: NodeId) -> None:
        """Everything in flight at a crashed node has an unknown outcome."""
        for key in [k for k in self._writes if k[0] == node_id]:
            self._finish(self._writes.pop(key), "info")
        for ctx in [c for c, p in self._reads.items() if p.node == node_id]:
            self._finish(self._reads.pop(ctx), "info")
        for pending in self._waiting.pop(node_id, []):
            self._finish(pending, "info")

    def _expire(self, now: int) -> None:
        for key in [k for k, p in self._writes.items() if p.deadline <= now]:
            self._finish(self._writes.pop(key), "info")
        for ctx in [c for c, p in self._reads.items() if p.deadline <= now]:
            self._finish(self._reads.pop(ctx), "info")
        for node_id, waiting in self._waiting.items():
            if any(p.deadline <= now for p in waiting):
                for pending in waiting:
                    if pending.deadline <= now:
                        self._finish(pending, "info")
                self._waiting[node_id] = [p for p in waiting if p.deadline > now]

    def _finish(self, pending: Pending, outcome: str, value: str | None = None) -> None:
        self.history.end(pending.op, outcome, value)  # type: ignore[arg-type]
        client = pending.client
        client.busy = False
        if outcome == "info":
            self._next_process += 1
            client.process = self._next_process
            # A client that got no answer tries elsewhere next time: the node may be cut off
            # (a deposed leader that does not know it yet keeps accepting proposals).
            client.leader_hint = None

    def expire_all(self) -> None:
        """End of the run: what is still open has an unknown outcome."""
        self._expire(1 << 62)
