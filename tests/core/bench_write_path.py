"""CPU the core spends per write on the leader (and in total), with the node's batching.

Run: python tests/core/bench_write_path.py [writes] [batch]
Three in-process nodes; each loop the leader takes `batch` proposals, one Ready, the followers
answer, the leader takes their acknowledgements. Only the time inside core calls is counted.
"""

from __future__ import annotations

import random
import sys
import time

from raftkv.core import CoreConfig, NodeInfo, RawNode


def main(writes: int = 50_000, batch: int = 16) -> None:
    config = CoreConfig()
    nodes = {i: RawNode(i, config, random.Random(i), 0) for i in range(3)}
    leader = nodes[0]
    leader.initialize(NodeInfo("127.0.0.1:8000"), "bench")
    spent = {i: 0.0 for i in nodes}
    inbox: list = []

    def pump(node_id: int) -> None:
        node = nodes[node_id]
        t0 = time.perf_counter()
        while node.has_ready():
            rd = node.ready()
            inbox.extend(rd.messages)
            inbox.extend(rd.persisted_messages)
            node.advance(rd)
        spent[node_id] += time.perf_counter() - t0

    def deliver() -> None:
        while inbox:
            batch_msgs = list(inbox)
            inbox.clear()
            for msg in batch_msgs:
                t0 = time.perf_counter()
                nodes[msg.to].step(msg)
                spent[msg.to] += time.perf_counter() - t0
            for node_id in nodes:
                pump(node_id)

    pump(0)
    for node_id in (1, 2):
        leader.add_learner(node_id, NodeInfo(f"127.0.0.1:800{node_id}"))
        pump(0)
        deliver()
    leader.change_membership({0, 1, 2}, retain=False)
    pump(0)
    deliver()
    for k in spent:
        spent[k] = 0.0
    payload = b"x" * 100
    done = 0
    while done < writes:
        t0 = time.perf_counter()
        for _ in range(batch):
            leader.propose(payload)
        spent[0] += time.perf_counter() - t0
        pump(0)
        deliver()
        done += batch
    commit = leader.status().commit_index
    per_leader = spent[0] / writes * 1e6
    per_total = sum(spent.values()) / writes * 1e6
    print(f"writes={writes} batch={batch} commit={commit}")
    print(f"leader core CPU per write: {per_leader:.1f} us; all three nodes: {per_total:.1f} us")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
