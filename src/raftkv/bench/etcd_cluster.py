"""A 3-member etcd cluster on loopback: etcd's defaults, data directories under the run's
temporary directory. Timings are passed only when the failover comparison asks for them."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import aiohttp

from .cluster import CLUSTER_SIZE, ClusterError, LocalCluster, Timings, http_json
from .processes import ServerProcess, free_ports

INSTALL_HINT = (
    "etcd is not installed: the comparison needs etcd 3.4 on PATH "
    "(Debian/Ubuntu: `apt-get install -y etcd-server`), or pass --etcd-bin PATH"
)


def find_etcd(explicit: str | None) -> str:
    """The etcd binary to run; raises ClusterError with the install hint when there is none."""
    found = shutil.which(explicit or "etcd")
    if found is None:
        raise ClusterError(INSTALL_HINT)
    return found


class EtcdCluster(LocalCluster):
    system = "etcd"

    def __init__(self, root: Path, timings: Timings | None, etcd_bin: str) -> None:
        super().__init__(root, timings)
        self.etcd_bin = etcd_bin
        self._member_ids: dict[str, int] = {}

    def _spawn_all(self) -> None:
        ports = free_ports(2 * CLUSTER_SIZE)
        client_ports, peer_ports = ports[:CLUSTER_SIZE], ports[CLUSTER_SIZE:]
        initial = ",".join(
            f"m{index}=http://127.0.0.1:{port}" for index, port in enumerate(peer_ports)
        )
        token = f"raftkv-bench-{secrets.token_hex(4)}"
        for index in range(CLUSTER_SIZE):
            client_url = f"http://127.0.0.1:{client_ports[index]}"
            peer_url = f"http://127.0.0.1:{peer_ports[index]}"
            argv = [
                self.etcd_bin,
                f"--name=m{index}",
                f"--data-dir={self.root / f'etcd-{index}'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster={initial}",
                "--initial-cluster-state=new",
                f"--initial-cluster-token={token}",
            ]
            if self.timings is not None:
                argv += [
                    f"--heartbeat-interval={self.timings.heartbeat_ms}",
                    f"--election-timeout={self.timings.election_ms}",
                ]
            member = ServerProcess(f"etcd-{index}", argv, self.root / f"etcd-{index}.log")
            self.members.append(member)
            self.client_addrs.append(f"127.0.0.1:{client_ports[index]}")
            member.start()

    async def start(self, http: aiohttp.ClientSession, timeout_s: float) -> None:
        self._spawn_all()
        await self.wait_for_leader(http, timeout_s)

    async def _agreed_leader(self, http: aiohttp.ClientSession) -> int | None:
        """Asks each running member for its status; the leader is named by member id."""
        leaders: set[str] = set()
        for index, member in enumerate(self.members):
            if not member.running:
                continue
            status, answer = await http_json(
                http, "POST", f"{self.base_url(index)}/v3/maintenance/status", {}
            )
            if status != 200 or not isinstance(answer, dict):
                return None
            self._member_ids[str(answer["header"]["member_id"])] = index
            leaders.add(str(answer.get("leader", "0")))
        # Until every member has answered once, a leader id may not map to an index yet.
        if len(leaders) != 1 or len(self._member_ids) < len(self.members):
            return None
        return self._member_ids.get(leaders.pop())
