"""The state-growth phase: its window statistics, leader-change counting and options; the load
against an in-process node that fails every first attempt (a retry must resend the same key,
client id and serial); the report and JSON; and end to end against real clusters."""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from test_bench_e2e import needs_etcd, run_bench

from raftkv.bench.cluster import LocalCluster, MemberStatus, dir_bytes
from raftkv.bench.growth_load import LeaderWatch, growth_key, load_keys
from raftkv.bench.options import MAX_VALUE_BYTES, StateGrowthOptions, parse_options
from raftkv.bench.processes import rss_bytes
from raftkv.bench.protocol import EtcdProtocol, KvProtocol, RaftkvProtocol
from raftkv.bench.report import render
from raftkv.bench.results import BenchResults, GrowthWindow, StateGrowthRecord, Timed
from raftkv.bench.runner import state_growth_systems


def _window(
    latencies_ms: list[float], seconds: float = 2.0, system: str = "raftkv"
) -> GrowthWindow:
    return GrowthWindow.of(
        system,
        keys=1000,
        seconds=seconds,
        latencies_s=[ms / 1e3 for ms in latencies_ms],
        failed=3,
        leader_changes=1,
        rss_bytes=[50_000_000, 40_000_000, 40_000_000],
        disk_bytes=[7_000_000, 7_000_000, 6_000_000],
    )


def test_window_statistics_are_nearest_rank_over_the_acknowledged_writes() -> None:
    window = _window([float(ms) for ms in range(100, 0, -1)])
    assert (window.writes, window.writes_per_s) == (100, 50.0)
    assert (window.p50_ms, window.p99_ms, window.max_ms) == pytest.approx((50.0, 99.0, 100.0))
    assert (window.failed, window.leader_changes) == (3, 1)


def test_a_window_without_writes_has_no_latencies() -> None:
    window = _window([])
    assert window.writes == 0 and window.writes_per_s == 0.0
    assert all(math.isnan(value) for value in (window.p50_ms, window.p99_ms, window.max_ms))


@pytest.mark.parametrize(
    ("protocol", "body", "value"),
    [
        (RaftkvProtocol(), b'{"Ok":{"value":"v1"}}', "v1"),
        (RaftkvProtocol(), b'{"Ok":{"value":null}}', None),
        (EtcdProtocol(), b'{"header":{},"kvs":[{"key":"aw==","value":"djE="}]}', "v1"),
        (EtcdProtocol(), b'{"header":{}}', None),
    ],
    ids=["raftkv", "raftkv-missing", "etcd", "etcd-missing"],
)
def test_read_value(protocol: KvProtocol, body: bytes, value: str | None) -> None:
    assert protocol.read_value(body) == value


def test_footprint_counts_every_file_under_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "raft.sqlite3").write_bytes(b"x" * 1000)
    (tmp_path / "snapshots" / "snap-1.bin").write_bytes(b"y" * 24)
    assert dir_bytes(tmp_path) == 1024 and dir_bytes(tmp_path / "absent") == 0
    assert rss_bytes(os.getpid()) > 1_000_000


def _status(leader: int | None, term: int) -> MemberStatus:
    return MemberStatus(leader=leader, term=term, committed_index=0, applied_index=0)


def test_leader_watch_counts_changes_of_leader_or_term() -> None:
    watch = LeaderWatch(leader=0)
    watch.observe([_status(0, 1), _status(0, 1), _status(0, 1)])
    assert (watch.leader, watch.changes) == (0, 0)
    # A candidate at a higher term names no leader: not a change yet.
    watch.observe([None, _status(None, 2), _status(0, 1)])
    assert (watch.leader, watch.changes) == (0, 0)
    watch.observe([None, _status(1, 2), _status(1, 2)])
    assert (watch.leader, watch.changes) == (1, 1)
    watch.observe([_status(1, 3), _status(1, 3), _status(1, 3)])  # same leader, new term
    assert (watch.leader, watch.changes) == (1, 2)


def test_state_growth_options() -> None:
    assert parse_options([]).state_growth == StateGrowthOptions(0, 100_000, 1000, 64)
    argv = ["--state-growth", "1000000", "--state-growth-window", "5000"]
    argv += ["--state-growth-value-bytes", "100", "--state-growth-clients", "8"]
    assert parse_options(argv).state_growth == StateGrowthOptions(1_000_000, 5000, 100, 8)


@pytest.mark.parametrize(
    "argv",
    [
        ["--state-growth", "-1"],
        ["--state-growth-window", "0"],
        ["--state-growth-value-bytes", "0"],
        ["--state-growth-value-bytes", str(MAX_VALUE_BYTES + 1)],
        ["--state-growth-clients", "0"],
    ],
    ids=["negative-keys", "zero-window", "empty-value", "value-too-large", "no-clients"],
)
def test_bad_state_growth_options_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(argv)
    assert exit_info.value.code == 2


def test_raftkv_on_timeouts_alone_is_not_grown() -> None:
    assert state_growth_systems(("raftkv", "raftkv-timeouts", "etcd")) == ("raftkv", "etcd")


class FlakyNode:
    """raftkv's /kv/write, failing the first attempt of every key with a 503."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies[body["key"]].append(body)
        if len(self.bodies[body["key"]]) == 1:
            return web.json_response({"Err": {"code": "leader_changed"}}, status=503)
        return web.json_response({"Ok": {"previous": None}})


class OneNodeCluster(LocalCluster):
    """A 'cluster' of one in-process node that always leads, with no process to measure."""

    system = "raftkv"

    async def start(self, http: aiohttp.ClientSession, timeout_s: float) -> None:
        raise NotImplementedError

    async def _agreed_leader(self, http: aiohttp.ClientSession) -> int | None:
        return 0

    async def wait_for_leader(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        return 0

    async def member_status(self, http: aiohttp.ClientSession, index: int) -> MemberStatus:
        return _status(0, 1)

    async def add_learner(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        raise NotImplementedError


@pytest.fixture
async def flaky_cluster(tmp_path: Path) -> AsyncIterator[tuple[FlakyNode, OneNodeCluster]]:
    node = FlakyNode()
    app = web.Application()
    app.router.add_post("/kv/write", node.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    cluster = OneNodeCluster(tmp_path, None)
    cluster.client_addrs.append(f"127.0.0.1:{runner.addresses[0][1]}")
    yield node, cluster
    await runner.cleanup()


async def test_load_retries_each_key_with_the_same_request(flaky_cluster) -> None:
    node, cluster = flaky_cluster
    spec = StateGrowthOptions(keys=250, window=100, value_bytes=40, clients=8)
    seen: list[GrowthWindow] = []
    async with aiohttp.ClientSession() as http:
        outcome = await load_keys(
            cluster,
            RaftkvProtocol(),
            http,
            spec,
            request_timeout_s=2.0,
            seed=1,
            on_window=seen.append,
        )
    assert seen == outcome.windows
    assert [(w.keys, w.writes) for w in outcome.windows] == [(100, 100), (200, 100), (250, 50)]
    assert sum(w.failed for w in outcome.windows) == 250 and outcome.abandoned == 0
    assert set(node.bodies) == {growth_key(index) for index in range(250)}
    for attempts in node.bodies.values():
        first, retry = attempts
        assert first == retry and len(first["value"]) == 40
    serials = defaultdict(list)
    for first, _ in node.bodies.values():
        serials[first["client_id"]].append(first["serial"])
    assert len(serials) == 8 and all(len(set(s)) == len(s) for s in serials.values())
    assert node.bodies[outcome.sample_key][0]["value"] == outcome.sample_value


def _record(system: str, learner: Timed) -> StateGrowthRecord:
    return StateGrowthRecord(
        system=system,
        value_bytes=1000,
        clients=64,
        windows=[_window([1.0, 2.0, 3.0], system=system)],
        abandoned=0,
        follower_restart=Timed(0.5),
        learner_catch_up=learner,
        learner_bytes=20_000_000 if learner.seconds else 0,
        full_restart=Timed(3.25),
    )


def test_report_and_json_carry_windows_and_times() -> None:
    settings = {"state_growth": {"keys": 1000, "window": 1000}, "failover_election_ms": 1000}
    results = BenchResults(settings=settings)
    results.state_growth += [
        _record("raftkv", Timed(2.0)),
        _record("etcd", Timed(None, "member add --learner refused")),
    ]
    text = render(results)
    window_rows = [line.split() for line in text.splitlines() if line.startswith("raftkv  1,000")]
    # system, keys, writes/s, p50, p99, max, failed, leader changes, RSS MB, disk MB
    assert window_rows == [
        ["raftkv", "1,000", "2", "2.00", "3.00", "3.00", "3", "1", "50/40/40", "7/7/6"]
    ]
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "follower restart s" in line)
    # system, follower restart, new learner, learner MB/s, full restart, abandoned writes
    assert lines[header + 2].split() == ["raftkv", "0.50", "2.00", "10.0", "3.25", "0"]
    assert lines[header + 3].split() == ["etcd", "0.50", "not", "measured", "-", "3.25", "0"]
    assert "etcd new learner not measured: member add --learner refused" in text
    document = json.loads(json.dumps(results.to_json()))
    raftkv, etcd = document["state_growth"]
    assert raftkv["learner_mb_per_s"] == 10.0 and raftkv["windows"][0]["p99_ms"] == 3.0
    assert etcd["learner_mb_per_s"] is None and etcd["learner_catch_up"]["seconds"] is None


def _assert_state_growth(document: Any, system: str) -> None:
    (record,) = [r for r in document["state_growth"] if r["system"] == system]
    windows = record["windows"]
    assert [w["keys"] for w in windows] == [1000, 2000, 3000]
    for window in windows:
        assert window["writes"] == 1000 and window["writes_per_s"] > 0
        assert 0 < window["p50_ms"] <= window["p99_ms"] <= window["max_ms"]
        assert len(window["rss_bytes"]) == 3 and min(window["rss_bytes"]) > 0
        assert len(window["disk_bytes"]) == 3 and min(window["disk_bytes"]) > 0
    for step in ("follower_restart", "learner_catch_up", "full_restart"):
        assert record[step]["seconds"] is not None and record[step]["seconds"] > 0, record[step]
    assert record["learner_mb_per_s"] > 0


SMALL_GROWTH = (
    "--workloads",
    "none",
    "--failover-rounds",
    "0",
    "--state-growth",
    "3000",
    "--state-growth-window",
    "1000",
    "--state-growth-value-bytes",
    "100",
)


@pytest.mark.e2e
def test_state_growth_on_raftkv(tmp_path: Path) -> None:
    done, document = run_bench(tmp_path, *SMALL_GROWTH)
    _assert_state_growth(document, "raftkv")
    assert "State growth: 3,000 unique keys of 100 bytes" in done.stdout
    assert done.stderr.count("state-growth raftkv ") == 3  # one progress line per window


@pytest.mark.e2e
@needs_etcd
def test_state_growth_on_raftkv_and_etcd(tmp_path: Path) -> None:
    _, document = run_bench(tmp_path, "--vs", "etcd", *SMALL_GROWTH)
    assert [r["system"] for r in document["state_growth"]] == ["raftkv", "etcd"]
    for system in ("raftkv", "etcd"):
        _assert_state_growth(document, system)
