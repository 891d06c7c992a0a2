"""Config skew: `max_sessions` decides which sessions the replicated state evicts, so the
cluster fixes it at `/admin/init` and carries it in the log; nodes configured otherwise still
evict alike, and say so at their next start. Real processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from node_harness import TOKEN, call, make_cluster, wait_for, write

pytestmark = pytest.mark.e2e


def test_nodes_configured_differently_evict_the_same_sessions(tmp_path: Path) -> None:
    cluster = make_cluster(tmp_path, 3, token=TOKEN)
    first = cluster.nodes[0]
    first.settings["max_sessions"] = 2  # the node that creates the cluster decides
    first.write_config({n.node_id: n.addr for n in cluster.nodes})
    try:
        cluster.start_all()
        cluster.form()
        leader = cluster.leader()
        for client in range(4):
            status, answer = write(leader.addr, f"k{client}", "v", 1, client_id=f"c{client}")
            assert status == 200, answer
        last = int(leader.state()["last_log_index"])

        def caught_up() -> bool:
            return all(int(n.state()["last_applied_index"]) >= last for n in cluster.nodes)

        wait_for(caught_up, 10.0, "every node applied the writes")
        sessions = [
            call(n.addr, "GET", "/admin/metrics", token=TOKEN)[1]["Ok"]["sessions"]
            for n in cluster.nodes
        ]
        assert sessions == [2, 2, 2]
        assert len({n.state()["kv_digest"] for n in cluster.nodes}) == 1

        skewed = cluster.nodes[1]
        skewed.kill()
        skewed.start()
        wait_for(
            lambda: "max_sessions in the config differs" in skewed.log_path.read_text(),
            10.0,
            "the skew named at start",
        )
    finally:
        cluster.stop_all()
