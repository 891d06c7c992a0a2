"""What membership churn needs from the framework: the observer and the local deployer
gain and lose nodes while the run goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from tf_fakes import FakeStateSource, alive, fake_node_command, fake_state

from raftkv.tf.agreement import Outcome, View, met, not_yet
from raftkv.tf.deployer import Topology
from raftkv.tf.local import LocalDeployer
from raftkv.tf.nemesis import unsupported_kinds
from raftkv.tf.observer import Observer

pytestmark = pytest.mark.timeout(60)


async def test_observer_polls_an_added_node_and_forgets_a_removed_one() -> None:
    sources = {f"node-{i}": FakeStateSource(fake_state(i, leader=0, term=1)) for i in range(4)}
    observer = Observer(["node-0", "node-1"], sources.__getitem__, interval=0.01)
    async with observer:
        await observer.add_node("node-3")
        await observer.wait_for(lambda view: _seen(view, "node-3"), 2.0, "node-3 polled")
        await observer.remove_node("node-1")
        calls = len(sources["node-1"].calls)
        await asyncio.sleep(0.05)
        assert len(sources["node-1"].calls) == calls, "no poll of a removed node"
        assert set(observer.view()) == {"node-0", "node-3"}
        with pytest.raises(ValueError, match="already observed"):
            await observer.add_node("node-0")
        with pytest.raises(ValueError, match="not observed"):
            await observer.remove_node("node-1")


def _seen(view: View, name: str) -> Outcome[bool]:
    return met(True) if view.get(name) is not None else not_yet(f"{name} not seen")


async def test_local_add_node_gets_a_new_address_port_and_the_members_as_peers(
    tmp_path: Path,
) -> None:
    deployer = LocalDeployer(command=fake_node_command(), work_root=tmp_path)
    async with deployer:
        endpoints = await deployer.deploy(Topology(nodes=3))
        removed_pid = deployer.pids()["node-1"]
        await deployer.remove_node("node-1")
        assert not alive(removed_pid) and "node-1" not in deployer.pids()
        assert not (deployer.run_dir / "node-1").exists()  # type: ignore[operator]
        added = await deployer.add_node(3)
        assert added.name == "node-3" and added.api_addr.startswith("127.0.0.14:")
        ports = {e.api_addr.rsplit(":", 1)[1] for e in endpoints} | {
            added.api_addr.rsplit(":", 1)[1]
        }
        assert len(ports) == 4
        config = yaml.safe_load((deployer.run_dir / "node-3" / "config.yaml").read_text())  # type: ignore[operator]
        assert config["peer_addrs"] == {0: endpoints[0].public_addr, 2: endpoints[2].public_addr}
        assert config["node_id"] == 3 and config["bind_host"] == "127.0.0.14"
        with pytest.raises(ValueError, match="never reused"):
            await deployer.add_node(3)
        pid = deployer.pids()["node-3"]
    assert not alive(pid)


def test_local_deployer_with_distinct_hosts_offers_membership() -> None:
    assert "membership" not in unsupported_kinds(LocalDeployer(command=fake_node_command()))
    shared = LocalDeployer(command=fake_node_command(), distinct_hosts=False)
    reasons = unsupported_kinds(shared)
    assert "partition" in reasons and "membership" in reasons
