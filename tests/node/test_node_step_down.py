"""A proposal's waiter outlives its leader's step-down (DESIGN.md "Outcomes"): in-process
drivers on a network that can cut a node off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_node_durability import ShimNetwork, form_cluster, start_driver, stop_cluster, wait_until

from raftkv.core import Role
from raftkv.kv import Put, encode_command
from raftkv.node.wire import ApiFailure


async def test_an_overwritten_proposal_ends_in_leader_changed(tmp_path: Path) -> None:
    network = ShimNetwork()
    tasks = [start_driver(network, i, tmp_path, report_late=False) for i in range(3)]
    old_leader = network.drivers[0]
    try:
        await form_cluster(old_leader)
        network.isolated = {0}
        lost = old_leader.propose(encode_command(Put("k", "lost", "c1", 1)))
        survivor = network.drivers[1]
        await wait_until(survivor, lambda st: st.leader_id in (1, 2) and st.term > 1)
        new_leader = network.drivers[survivor.leader_id or 1]
        kept = await asyncio.wait_for(
            new_leader.propose(encode_command(Put("k", "kept", "c2", 1))), 10
        )
        assert kept.ok
        await wait_until(old_leader, lambda st: st.role != Role.LEADER)
        network.isolated = set()
        with pytest.raises(ApiFailure) as caught:
            await asyncio.wait_for(lost, 10)
        assert (caught.value.code, caught.value.indeterminate) == ("leader_changed", False)
        await wait_until(old_leader, lambda st: st.applied_index >= new_leader.sm.applied_index)
        assert old_leader.sm.get("k") == "kept"
        assert network.violations == []
    finally:
        await stop_cluster(network, tasks)
