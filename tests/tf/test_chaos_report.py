"""The chaos history and report: JSON round trip of records, key rotation, per-second
stats, role segments, and the HTML page (parsed: it holds the events and the verdict, and
nothing it would fetch)."""

from __future__ import annotations

import random
from html.parser import HTMLParser
from typing import Any

import pytest

from raftkv.checker import Operation
from raftkv.tf.chaos import History, OpRecord
from raftkv.tf.chaos.checks import check_linearizable
from raftkv.tf.chaos.html import render_report
from raftkv.tf.chaos.keys import KeyRotation
from raftkv.tf.chaos.report import check_json
from raftkv.tf.chaos.stats import per_second, percentile, role_segments


def record(op: Operation, mode: str = "write", ended: float | None = None) -> OpRecord:
    end = op.finish if op.complete is not None else (ended or op.invoke + 1)
    return OpRecord(op, mode, "node-1", 1, end, None if op.outcome == "ok" else "timeout: x")  # type: ignore[arg-type]


def test_records_round_trip_through_json() -> None:
    originals = [
        record(Operation(0, "write", "k", "p0.1", 0.5, 0.7, "ok")),
        record(Operation(1, "write", "k", "p1.1", 0.6, None, "info"), ended=2.6),
        record(Operation(2, "read", "k", None, 0.8, 0.9, "ok"), "linearizable"),
        record(Operation(2, "read", "k", "p0.1", 1.0, 1.5, "fail"), "local"),
    ]
    assert [OpRecord.from_json(r.to_json()) for r in originals] == originals
    with pytest.raises(ValueError, match="mode"):
        OpRecord.from_json({**originals[0].to_json(), "mode": "scan"})
    with pytest.raises(ValueError, match="'ended'"):
        OpRecord.from_json({k: v for k, v in originals[0].to_json().items() if k != "ended"})


def test_history_separates_checked_operations_from_local_reads() -> None:
    history = History()
    assert [history.new_process(), history.new_process()] == [0, 1]
    write = Operation(0, "write", "k", "a", 0, 1, "ok")
    local = Operation(1, "read", "k", "a", 2, 3, "ok")
    linear = Operation(1, "read", "k", "a", 4, None, "info")
    for op, mode in ((write, "write"), (local, "local"), (linear, "linearizable")):
        history.add(record(op, mode))
    assert history.checked() == [write, linear]
    assert history.local_reads() == [local] and history.writes() == [write]
    assert history.counts() == {"ok": 2, "fail": 0, "info": 1}


def test_keys_rotate_after_their_operations() -> None:
    keys = KeyRotation(active=2, ops_per_key=3)
    taken = [keys.take(random.Random(n)) for n in range(12)]
    assert all(taken.count(key) <= 3 for key in set(taken))
    assert keys.keys_used >= 4 and len(set(taken)) >= 4
    with pytest.raises(ValueError, match="at least one key"):
        KeyRotation(active=0, ops_per_key=3)


def test_per_second_buckets_count_outcomes_and_ok_latencies() -> None:
    ops = [
        {"invoke": 0.1, "ended": 0.2, "outcome": "ok"},
        {"invoke": 0.3, "ended": 0.7, "outcome": "ok"},
        {"invoke": 0.5, "ended": 0.9, "outcome": "info"},
        {"invoke": 2.0, "ended": 2.5, "outcome": "fail"},
    ]
    first, gap, last = per_second(ops)
    assert (first.second, first.ok, first.info, first.fail) == (0, 2, 1, 0)
    assert first.p50_ms == pytest.approx(100) and first.p99_ms == pytest.approx(400)
    assert (gap.total, gap.p50_ms) == (0, None)
    assert (last.fail, last.p99_ms) == (1, None)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_role_segments_follow_each_nodes_transitions() -> None:
    transitions = [
        {"t": 0.0, "node": "node-0", "role": "Leader", "term": 1, "leader": 0},
        {"t": 1.0, "node": "node-1", "role": "Follower", "term": 1, "leader": 0},
        {"t": 3.0, "node": "node-0", "error": "connection refused"},
    ]
    segments = role_segments(transitions, end=5.0)
    assert [(s.start, s.end, s.state) for s in segments["node-0"]] == [
        (0.0, 3.0, "Leader"),
        (3.0, 5.0, "unreachable"),
    ]
    assert segments["node-1"][0].end == 5.0


class Page(HTMLParser):
    """Collects tags, text and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [f"{k}={v}" for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def document(checks: list[dict[str, Any]]) -> dict[str, Any]:
    ops = [
        record(Operation(0, "write", "k", "p0.1", 0.5, 0.7, "ok")).to_json(),
        record(Operation(1, "write", "k", "p1.1", 1.2, None, "info"), ended=3.2).to_json(),
    ]
    return {
        "scenario": "chaos",
        "seed": 42,
        "verdict": "PASS" if all(check["ok"] for check in checks) else "FAIL",
        "settings": {"nemesis": ["kill"], "duration_s": 4.0},
        "checks": checks,
        "nemesis": {
            "events": [
                {
                    "nemesis": "kill",
                    "action": "kill -9 leader node-0",
                    "targets": ["node-0"],
                    "started_s": 1.0,
                    "healed_s": 2.5,
                    "detail": {},
                },
            ],
            "skipped": {"partition": "no iptables <here>"},
        },
        "transitions": [{"t": 0.0, "node": "node-0", "role": "Leader", "term": 1, "leader": 0}],
        "counts": {"ok": 1, "fail": 0, "info": 1},
        "operations": ops,
    }


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_html_shows_events_skips_and_verdicts_and_loads_nothing() -> None:
    checks = [{"name": "durability", "ok": True, "summary": "no write lost", "problems": []}]
    page = parse(render_report(document(checks)))
    text = " ".join(page.text)
    assert "kill -9 leader node-0" in text and "partition skipped: no iptables <here>" in text
    assert "durability" in text and "no write lost" in text and "PASS" in text
    assert page.tags.count("svg") >= 4 and "script" not in page.tags and "style" in page.tags
    assert page.links == []


def test_html_of_a_violation_shows_the_failing_sub_history() -> None:
    history = [
        Operation(0, "write", "k", "a", 0, 1, "ok"),
        Operation(1, "write", "k", "b", 2, 3, "ok"),
        Operation(2, "read", "k", "a", 4, 5, "ok"),
    ]
    result = check_linearizable(history, time_limit=5)
    page = parse(render_report(document([check_json(result)])))
    text = " ".join(page.text)
    assert "FAIL" in text and "Smallest failing sub-history for key 'k'" in text
    assert "lost write" in text and "'b'" in text
