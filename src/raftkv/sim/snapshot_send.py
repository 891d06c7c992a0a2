"""Sending a snapshot as the node does (`node/driver.py` `snapshot_to_send`, `StateFiles.
file_to_send` in `node/state_snapshots.py`): not always the snapshot the core compacted at.

The core names its latest snapshot, at index S, in a `SnapshotRequest`; the runtime attaches
the state. With the seed's probability the simulator does what production does, else it
attaches the compacted snapshot at once (the model before production sent copies). The rules
of a copy:

- It is the state store's state at its applied index A >= S, copied when the request comes; a
  copy cached by an earlier send is reused, without a new copy, while its index is still >= S.
  (A store behind S cannot send a copy: the compacted snapshot goes instead.)
- The copy takes time; the message leaves when it is done. A crash before then loses it.
- When it is done, the message leaves only if the core still waits for it (leader in the
  message's term, the follower still tracked in the snapshot state), and with the core's
  description of A (`snapshot_meta(A)`: the term of A, the membership at A) replacing the
  meta the core named. If the core cannot describe A (compacted past it, or not applied that
  far yet after a restart whose store is ahead), nothing is sent. In both cases the core sends
  again after its timeout.

So the leader's core sees a follower install a snapshot newer than the one it asked for, and a
follower installs a meta the leader's core never named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from raftkv.core import Compacted, Core, Message, NodeId, SnapshotRequest

from .checkers import CheckerSet
from .storage import SimStorage


class SendHost(Protocol):
    """What sending a snapshot needs from the cluster around the node."""

    now: int

    def send(self, msg: Message) -> None: ...
    def record(self, node: NodeId, kind: str, payload: Any = None) -> None: ...
    def tally(self, kind: str, count: int = 1) -> None: ...
    def fresh_copy(self) -> bool: ...
    def copy_delay(self) -> int: ...

    @property
    def checkers(self) -> CheckerSet: ...


@dataclass(frozen=True, slots=True)
class StateCopy:
    """A consistent copy of the state store: `data` is its state at applied index `index`."""

    index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyToSend:
    """A request whose copy is under way; the message leaves at `leaves_at` (ms)."""

    msg: SnapshotRequest
    copy: StateCopy
    leaves_at: int


class SnapshotSender:
    """One incarnation's snapshot sends: its cached copy and the copies under way (volatile)."""

    def __init__(self, node_id: NodeId, core: Core, storage: SimStorage, host: SendHost) -> None:
        self.id = node_id
        self.core = core
        self.storage = storage
        self.host = host
        self.cached: StateCopy | None = None
        self.copying: list[CopyToSend] = []

    def send(self, msg: SnapshotRequest) -> None:
        """Attach the state to the core's `msg` and send it, now or once its copy is done."""
        host = self.host
        if not host.fresh_copy():
            self.send_compacted(msg)
            return
        asked = msg.meta.last_index
        cached = self.cached
        if cached is not None and cached.index >= asked:
            self.start(msg, cached, 0)
            return
        store = self.storage.state
        if store.applied_index < asked:
            host.record(self.id, "fresh-copy-behind", f"store at {store.applied_index} < {asked}")
            self.send_compacted(msg)
            return
        self.cached = copy = StateCopy(store.applied_index, store.sm.snapshot())
        self.start(msg, copy, host.copy_delay())

    def start(self, msg: SnapshotRequest, copy: StateCopy, delay: int) -> None:
        job = CopyToSend(msg, copy, self.host.now + delay)
        if delay > 0:
            self.copying.append(job)
        else:
            self.leave(job)

    def complete_due(self, now: int) -> None:
        """Send the messages whose copies are done by `now` (in the order they were asked)."""
        if not self.copying:
            return
        due = [job for job in self.copying if job.leaves_at <= now]
        if due:
            self.copying = [job for job in self.copying if job.leaves_at > now]
            for job in due:
                self.leave(job)

    def leave(self, job: CopyToSend) -> None:
        """The copy is done: send it with the core's meta at its index, if still wanted."""
        msg, copy, host = job.msg, job.copy, self.host
        if not self.still_wanted(msg):
            host.record(self.id, "fresh-copy-unwanted", f"to {msg.to}: no longer waits for one")
            return
        try:
            meta = self.core.snapshot_meta(copy.index)
        except (Compacted, ValueError) as exc:
            host.record(self.id, "fresh-copy-undescribable", f"at {copy.index}: {exc}")
            return
        if meta.last_index > msg.meta.last_index:
            host.tally("fresh-copy-newer")
        asked = f"{msg.meta.last_term}/{msg.meta.last_index}"
        host.record(
            self.id, "fresh-copy", f"{meta.last_term}/{meta.last_index} to {msg.to} for {asked}"
        )
        self.emit(msgspec.structs.replace(msg, meta=meta, data=copy.data))

    def still_wanted(self, msg: SnapshotRequest) -> bool:
        """Production's check: leader in the message's term, the follower in snapshot state."""
        return self.core.status().awaits_snapshot(msg.to, msg.term)

    def send_compacted(self, msg: SnapshotRequest) -> None:
        """The snapshot the core named, which storage holds durably (the log's base)."""
        self.emit(msgspec.structs.replace(msg, data=self.storage.snapshot_bytes_for(msg.meta)))

    def emit(self, msg: SnapshotRequest) -> None:
        self.host.checkers.on_snapshot(self.id, msg.meta, msg.data)
        self.host.send(msg)

    def record_losses(self) -> None:
        """The node crashes: the copies under way never leave."""
        for job in self.copying:
            self.host.record(self.id, "fresh-copy-lost", f"at {job.copy.index} to {job.msg.to}")
