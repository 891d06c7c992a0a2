"""Pure parts of the bench: percentiles, request shapes, workload and option parsing, the
printed table and the JSON document."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter

import msgspec
import pytest

from raftkv.bench.cpu import CpuSample, CpuUsage
from raftkv.bench.harness import LoadResult
from raftkv.bench.options import parse_options
from raftkv.bench.protocol import EtcdProtocol, RaftkvProtocol, WriterSession, protocol_for
from raftkv.bench.report import render
from raftkv.bench.results import BenchResults, FailoverSummary, RunRecord
from raftkv.bench.runner import failover_systems
from raftkv.bench.stats import median, percentile, ratio
from raftkv.bench.workloads import KEYS, WORKLOADS, parse_workloads


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1.0], 0.5, 1.0),
        ([1.0, 2.0], 0.5, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([float(v) for v in range(1, 101)], 0.99, 99.0),
        ([float(v) for v in range(1, 101)], 1.0, 100.0),
    ],
    ids=["single", "two", "four-median", "p99-of-100", "max"],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_percentile_of_nothing_is_nan_and_bad_fraction_is_refused() -> None:
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 0.0)


def test_median_skips_missing_and_ratio_guards_zero() -> None:
    assert median([3.0, math.nan, 1.0, 2.0]) == 2.0
    assert math.isnan(median([math.nan]))
    assert ratio(3.0, 2.0) == 1.5
    assert math.isnan(ratio(1.0, 0.0))


def test_keys_are_16_bytes() -> None:
    assert {len(key.encode()) for key in KEYS} == {16}


def test_raftkv_write_carries_session_and_serial_grows() -> None:
    protocol = RaftkvProtocol()
    session = WriterSession(client_id="bench-x")
    first = msgspec.json.decode(protocol.write_body(KEYS[0], "v" * 16, session))
    second = msgspec.json.decode(protocol.write_body(KEYS[1], "w" * 16, session))
    assert first == {"key": KEYS[0], "value": "v" * 16, "serial": 1, "client_id": "bench-x"}
    assert second["serial"] == 2
    read = msgspec.json.decode(protocol.read_body(KEYS[2]))
    assert read == {"key": KEYS[2], "consistency": "linearizable"}


def test_etcd_bodies_are_base64() -> None:
    protocol = EtcdProtocol()
    write = msgspec.json.decode(protocol.write_body(KEYS[0], "v" * 16, WriterSession("c")))
    assert base64.b64decode(write["key"]).decode() == KEYS[0]
    assert base64.b64decode(write["value"]).decode() == "v" * 16
    read = msgspec.json.decode(protocol.read_body(KEYS[0]))
    assert read == {"key": write["key"]}


@pytest.mark.parametrize(
    ("system", "status", "body", "ok"),
    [
        ("raftkv", 200, b'{"Ok":{"previous":null}}', True),
        ("raftkv", 200, b'{"Err":"text"}', False),
        ("raftkv", 503, b'{"Err":{"code":"no_leader"}}', False),
        ("raftkv", 200, b"not json", False),
        ("etcd", 200, b'{"header":{"revision":"2"}}', True),
        ("etcd", 200, b'{"error":"etcdserver: request timed out","code":14}', False),
        ("etcd", 503, b'{"header":{}}', False),
        ("etcd", 0, b"", False),
    ],
    ids=[
        "raftkv-ok",
        "raftkv-reference-err",
        "raftkv-503",
        "raftkv-garbage",
        "etcd-ok",
        "etcd-error",
        "etcd-503",
        "etcd-no-answer",
    ],
)
def test_success_checks(system: str, status: int, body: bytes, ok: bool) -> None:
    assert protocol_for(system).succeeded(status, body) is ok


def test_unknown_system_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown system"):
        protocol_for("zookeeper")


def test_failover_adds_raftkv_on_timeouts_alone_beside_raftkv() -> None:
    assert failover_systems(("raftkv", "etcd")) == ("raftkv", "raftkv-timeouts", "etcd")
    assert failover_systems(("etcd",)) == ("etcd",)
    assert failover_systems(("raftkv-timeouts", "raftkv")) == ("raftkv-timeouts", "raftkv")


def test_workloads_parse_in_order_without_duplicates() -> None:
    chosen = parse_workloads("write-64,seq-write,write-64")
    assert [w.name for w in chosen] == ["write-64", "seq-write"]
    assert len(parse_workloads("all")) == len(WORKLOADS)
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        parse_workloads("nope")


def test_options_defaults_and_vs() -> None:
    options = parse_options(["--vs", "etcd"])
    assert options.systems == ("raftkv", "etcd")
    assert (options.duration_s, options.rounds, options.failover_rounds) == (5.0, 2, 5)
    assert parse_options(["--workloads", "none"]).workloads == ()


@pytest.mark.parametrize(
    "argv",
    [
        ["--duration", "0"],
        ["--systems", "zookeeper"],
        ["--workloads", "bogus"],
        ["--failover-heartbeat-ms", "1000", "--failover-election-ms", "500"],
        ["--rounds", "-1"],
    ],
    ids=[
        "zero-duration",
        "unknown-system",
        "unknown-workload",
        "heartbeat-above-election",
        "negative-rounds",
    ],
)
def test_bad_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(argv)
    assert exit_info.value.code == 2
    assert "raftkv-bench" in capsys.readouterr().err


def _record(system: str, ops: float, p50: float) -> RunRecord:
    load = LoadResult(window_s=1.0, latencies_s=[p50 / 1e3] * int(ops), errors=Counter({"503": 2}))
    load.cpu = CpuUsage.between(
        CpuSample({"leader": 1.0}, client=0.0), CpuSample({"leader": 1.5}, client=0.25)
    )
    return RunRecord.from_load(system, "write-64", 0, load, leader_changed=False)


def test_results_table_and_json_carry_medians_ratios_and_cpu() -> None:
    results = BenchResults(settings={"rounds": 1, "duration_s": 1.0, "warmup_s": 0.5})
    results.records += [_record("raftkv", 500, 4.0), _record("etcd", 1000, 2.0)]
    results.failover.append(FailoverSummary("raftkv", [1.5, None, 0.5], 100, 1000))
    text = render(results)
    rows = {
        line.split()[1]: line.split() for line in text.splitlines() if line.startswith("write-64 ")
    }
    # workload, system, ops/s, p50, p99, errors, cpu leader, follower1, follower2, client
    assert rows["raftkv"] == [
        "write-64",
        "raftkv",
        "500",
        "4.00",
        "4.00",
        "2",
        "1,000",
        "-",
        "-",
        "500",
    ]
    assert rows["etcd"][2:4] == ["1,000", "2.00"]
    assert "0.50x" in text and "2.00x" in text
    document = json.loads(json.dumps(results.to_json()))
    ratios = document["ratios_raftkv_over_etcd"][0]
    assert ratios == {"workload": "write-64", "ops_per_s": 0.5, "p50_ms": 2.0, "p99_ms": 2.0}
    raftkv = document["summary"][0]
    assert raftkv["cpu_us_per_op"] == {"client": 500.0, "leader": 1000.0}
    assert raftkv["errors"] == 2
    assert document["runs"][0]["cpu_s"] == {"leader": 0.5, "client": 0.25}
    failover = document["failover"][0]
    assert (failover["min_s"], failover["median_s"], failover["max_s"]) == (0.5, 1.0, 1.5)
    assert failover["failed"] == 1
