"""A 3-member etcd cluster on loopback: etcd's defaults, data directories under the run's
temporary directory. Timings are passed only when the failover comparison asks for them."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from .cluster import CLUSTER_SIZE, ClusterError, LocalCluster, MemberStatus, Timings, http_json
from .processes import free_ports

MEMBER_ADD_TIMEOUT_S = 30.0
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
        self._peer_urls: list[str] = []
        self._token = f"raftkv-bench-{secrets.token_hex(4)}"

    def _initial_cluster(self) -> str:
        return ",".join(f"m{index}={url}" for index, url in enumerate(self._peer_urls))

    def _spawn_member(self, client_port: int, state: str) -> None:
        """Member `len(members)`, whose peer URL is already in `_peer_urls`; `state` is
        `new` when the cluster forms, `existing` when it joins a running one."""
        index = len(self.members)
        client_url = f"http://127.0.0.1:{client_port}"
        data_dir = self.root / f"etcd-{index}"
        argv = [
            self.etcd_bin,
            f"--name=m{index}",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={self._peer_urls[index]}",
            f"--initial-advertise-peer-urls={self._peer_urls[index]}",
            f"--initial-cluster={self._initial_cluster()}",
            f"--initial-cluster-state={state}",
            f"--initial-cluster-token={self._token}",
        ]
        if self.timings is not None:
            argv += [
                f"--heartbeat-interval={self.timings.heartbeat_ms}",
                f"--election-timeout={self.timings.election_ms}",
            ]
        self._spawn(f"etcd-{index}", argv, f"127.0.0.1:{client_port}", data_dir)

    def _spawn_all(self) -> None:
        ports = free_ports(2 * CLUSTER_SIZE)
        client_ports, peer_ports = ports[:CLUSTER_SIZE], ports[CLUSTER_SIZE:]
        self._peer_urls = [f"http://127.0.0.1:{port}" for port in peer_ports]
        for port in client_ports:
            self._spawn_member(port, "new")

    async def start(self, http: aiohttp.ClientSession, timeout_s: float) -> None:
        self._spawn_all()
        await self.wait_for_leader(http, timeout_s)

    async def add_learner(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        """`member add --learner` through the leader (repeated while refused: etcd wants
        every voter connected for 5 s first), then the member itself, started with
        `--initial-cluster-state=existing`; returns before it has caught up."""
        leader = await self.wait_for_leader(http, timeout_s)
        client_port, peer_port = free_ports(2)
        peer_url = f"http://127.0.0.1:{peer_port}"
        last: list[Any] = []

        async def member_add() -> dict[str, Any] | None:
            url = f"{self.base_url(leader)}/v3/cluster/member/add"
            body = {"peerURLs": [peer_url], "isLearner": True}
            last[:] = await http_json(http, "POST", url, body, timeout_s=MEMBER_ADD_TIMEOUT_S)
            status, answer = last
            return answer if status == 200 and isinstance(answer, dict) else None

        try:
            await self.poll_until(member_add, MEMBER_ADD_TIMEOUT_S, "member add --learner refused")
        except ClusterError as exc:
            raise ClusterError(f"{exc}; last answer: status {last[0]}, {last[1]}") from None
        self._peer_urls.append(peer_url)
        self._spawn_member(client_port, "existing")
        return len(self.members) - 1

    async def member_status(self, http: aiohttp.ClientSession, index: int) -> MemberStatus | None:
        """From `maintenance status`; etcd names the leader by member id, mapped to an index
        once that member has answered (until then the leader reads as unknown)."""
        status, answer = await http_json(
            http, "POST", f"{self.base_url(index)}/v3/maintenance/status", {}
        )
        if status != 200 or not isinstance(answer, dict) or "header" not in answer:
            return None
        self._member_ids[str(answer["header"]["member_id"])] = index
        # The gateway leaves out fields that are zero, and writes 64-bit numbers as strings.
        return MemberStatus(
            leader=self._member_ids.get(str(answer.get("leader", "0"))),
            term=int(answer.get("raftTerm", 0)),
            committed_index=int(answer.get("raftIndex", 0)),
            applied_index=int(answer.get("raftAppliedIndex", 0)),
        )

    async def _agreed_leader(self, http: aiohttp.ClientSession) -> int | None:
        """Asks each running member for its status; every one must name the same leader."""
        leaders: set[int | None] = set()
        for index, member in enumerate(self.members):
            if not member.running:
                continue
            status = await self.member_status(http, index)
            if status is None:
                return None
            leaders.add(status.leader)
        # Until every member has answered once, a leader id may not map to an index yet.
        if len(leaders) != 1 or len(self._member_ids) < len(self.members):
            return None
        return leaders.pop()
