"""LocalDeployer with the fake node process: layout, configs, node control, cleanup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from tf_fakes import alive, fake_node_command

from raftkv.tf.deployer import NodeSettings, Topology
from raftkv.tf.local import KEEP_LOGS_ENV, NODE_BIN_ENV, LocalDeployer, NodeExited, node_command
from raftkv.tf.local_process import NodeProcessError
from raftkv.tf.loopback import node_hosts

pytestmark = pytest.mark.timeout(60)


def deployer_in(tmp_path: Path, **options: object) -> LocalDeployer:
    return LocalDeployer(command=fake_node_command(), work_root=tmp_path, **options)  # type: ignore[arg-type]


async def test_deploy_renders_one_directory_config_and_log_per_node(tmp_path: Path) -> None:
    topology = Topology(nodes=3, settings=NodeSettings(heartbeat_interval_ms=50))
    async with deployer_in(tmp_path) as deployer:
        endpoints = await deployer.deploy(topology)
        assert deployer.run_dir is not None
        configs = [
            yaml.safe_load((deployer.run_dir / e.name / "config.yaml").read_text())
            for e in endpoints
        ]
        assert [c["bind_host"] for c in configs] == node_hosts(3)
        assert len({c["http_port"] for c in configs}) == 3, "distinct port numbers"
        assert configs[0]["peer_addrs"] == {
            1: endpoints[1].public_addr,
            2: endpoints[2].public_addr,
        }
        assert configs[1]["heartbeat_interval_ms"] == 50
        assert all((deployer.run_dir / e.name / "data").is_dir() for e in endpoints)
        assert "fake node 2 serving" in deployer.log_path("node-2").read_text()
        async with deployer.node_client("node-1") as client:
            assert client.addr == endpoints[1].api_addr and await client.healthz()
        pids = list(deployer.pids().values())
        assert len(pids) == 3 and all(alive(pid) for pid in pids)
    assert not any(alive(pid) for pid in pids)
    assert not deployer.run_dir.exists(), "removed without TF_KEEP_LOGS"


@pytest.mark.parametrize("mode", ["graceful", "kill"])
async def test_restart_keeps_address_and_data_directory(tmp_path: Path, mode: str) -> None:
    async with deployer_in(tmp_path) as deployer:
        await deployer.deploy(Topology(nodes=1))
        before = deployer.endpoint("node-0")
        old_pid = deployer.pids()["node-0"]
        marker = deployer.run_dir / "node-0" / "data" / "marker"  # type: ignore[operator]
        marker.write_text("kept")
        await deployer.restart_node("node-0", mode)  # type: ignore[arg-type]
        assert deployer.endpoint("node-0") == before
        assert deployer.pids()["node-0"] != old_pid and not alive(old_pid)
        assert marker.read_text() == "kept"
        assert f"stop ({mode}) node-0" in deployer.log_path("node-0").read_text()


async def test_graceful_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    topology = Topology(nodes=1, settings=NodeSettings(extra={"fake_ignore_sigterm": True}))
    async with deployer_in(tmp_path, stop_grace=0.3) as deployer:
        await deployer.deploy(topology)
        pid = deployer.pids()["node-0"]
        await deployer.stop_node("node-0", "graceful")
        assert not alive(pid) and deployer.pids() == {}


async def test_node_that_exits_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    topology = Topology(nodes=2, settings=NodeSettings(extra={"fake_exit_at_start": True}))
    deployer = deployer_in(tmp_path)
    with pytest.raises(NodeExited, match=r"(?s)exited with status 3 .*fake node refuses to start"):
        async with deployer:
            await deployer.deploy(topology)
    assert not any(alive(pid) for pid in deployer.spawned_pids())


async def test_cleanup_kills_the_process_group_and_keeps_logs_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEEP_LOGS_ENV, "1")
    topology = Topology(nodes=1, settings=NodeSettings(extra={"fake_child": True}))
    async with deployer_in(tmp_path) as deployer:
        await deployer.deploy(topology)
        await deployer.pause_node("node-0")  # a paused node must still be cleaned up
    log = deployer.log_path("node-0").read_text()
    child = int(re.search(r"child pid (\d+)", log).group(1))  # type: ignore[union-attr]
    assert not alive(child), "the node's child died with its process group"
    assert deployer.run_dir is not None and deployer.run_dir.exists(), "kept with TF_KEEP_LOGS=1"
    assert "TF_KEEP_LOGS" not in deployer.describe() or "kept" in deployer.describe()


async def test_cleanup_is_idempotent_and_safe_before_deploy(tmp_path: Path) -> None:
    deployer = deployer_in(tmp_path)
    await deployer.cleanup()
    await deployer.cleanup()


async def test_missing_node_command_is_a_clear_error(tmp_path: Path) -> None:
    deployer = LocalDeployer(command=[str(tmp_path / "no-such-node")], work_root=tmp_path)
    with pytest.raises(NodeProcessError, match=r"cannot start node-0 with .*no-such-node"):
        async with deployer:
            await deployer.deploy(Topology(nodes=1))


def test_node_command_prefers_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NODE_BIN_ENV, "/opt/openraft-kv-node")
    assert node_command() == ["/opt/openraft-kv-node"]
    monkeypatch.delenv(NODE_BIN_ENV)
    assert node_command()[-1].endswith(("raftkv-node", "raftkv.node.main"))
