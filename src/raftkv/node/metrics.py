"""Metrics: Prometheus text on `/metrics` and the JSON object of `/admin/metrics`.

Gauges are read from the driver, the core and the store when scraped, so the hot path pays
only for the few counters it increments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .driver import Driver


class NodeMetrics:
    """The node's registry (one per process, never the global one)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created` adds only weight
        self.registry = CollectorRegistry()
        self.errors = Counter(
            "raftkv_api_errors",
            "Failed client and admin requests by error code",
            ["code"],
            registry=self.registry,
        )
        self.forwarded = Counter(
            "raftkv_forwarded_requests",
            "Requests this node forwarded to the leader",
            registry=self.registry,
        )
        self.connections = Gauge(
            "raftkv_http_connections", "Open HTTP connections", registry=self.registry
        )
        self.connections_refused = Counter(
            "raftkv_http_connections_refused",
            "Connections answered 503 and closed because http_max_connections were open",
            registry=self.registry,
        )
        self.header_timeouts = Counter(
            "raftkv_http_header_timeouts",
            "Connections closed for not sending a request head within http_header_timeout_s",
            registry=self.registry,
        )
        self.malformed_requests = Counter(
            "raftkv_http_malformed_requests",
            "Requests the HTTP parser refused with 400 (a NUL byte in a header, a line too long)",
            registry=self.registry,
        )
        self.streams_refused = Counter(
            "raftkv_http_streams_refused",
            "/raft/stream upgrades refused because http_max_streams were open",
            registry=self.registry,
        )
        self._driver: Driver | None = None

    def attach(self, driver: Driver) -> None:
        self._driver = driver
        self.registry.register(_DriverCollector(driver))

    def prometheus_text(self) -> bytes:
        return generate_latest(self.registry)


class _DriverCollector(Collector):
    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        driver = self._driver
        status = driver.core.status()
        gauges = {
            "raftkv_term": ("Current term", status.term),
            "raftkv_is_leader": ("1 on the leader", int(driver.role.name == "LEADER")),
            "raftkv_commit_index": ("Commit index", status.commit_index),
            "raftkv_applied_index": ("Applied index", driver.sm.applied_index),
            "raftkv_last_log_index": ("Last log index", status.last_index),
            "raftkv_snapshot_index": ("Snapshot index", status.snapshot_index),
            "raftkv_keys": ("Keys in the state machine", driver.sm.key_count),
            "raftkv_sessions": ("Client sessions", driver.sm.session_count()),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=value)
        peer_up = GaugeMetricFamily(
            "raftkv_peer_up", "1 while deliveries to a peer work", labels=["peer"]
        )
        for peer, up in driver.transport.peers_up().items():
            peer_up.add_metric([str(peer)], int(up))
        yield peer_up
        for name, value in asdict(driver.stats).items():
            yield CounterMetricFamily(f"raftkv_{name}", f"Driver counter {name}", value=value)
        rejected = CounterMetricFamily(
            "raftkv_peer_messages_rejected",
            "Peer messages refused before they changed anything, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(driver.rejections.counts.items()):
            rejected.add_metric([reason], count)
        yield rejected
        yield CounterMetricFamily(
            "raftkv_peer_messages_unaddressable",
            "Messages dropped because their addressee is neither a member nor a configured peer",
            value=driver.transport.unaddressable_messages,
        )
        for name, value in driver.store.stats.items():
            yield CounterMetricFamily(
                f"raftkv_store_{name}", f"Storage counter {name}", value=value
            )


def admin_metrics(driver: Driver) -> dict[str, Any]:
    """The `/admin/metrics` object: role, term, vote, indexes, membership, replication."""
    status = driver.core.status()
    progress = {
        str(peer): {
            "match_index": p.match_index,
            "next_index": p.next_index,
            "state": getattr(p.state, "name", str(p.state)).lower(),
        }
        for peer, p in sorted(status.progress.items())
    }
    return {
        "node_id": driver.node_id,
        "role": status.role.title,
        "current_term": status.term,
        "vote": status.vote,
        "current_leader": status.leader_id,
        "last_log_index": status.last_index,
        "last_log_term": status.last_term,
        "committed_index": status.commit_index,
        "last_applied_index": driver.sm.applied_index,
        "snapshot_index": status.snapshot_index,
        "membership": membership_json(status.membership, status.committed_membership),
        "replication": progress,
        "peers_up": {str(peer): up for peer, up in driver.transport.peers_up().items()},
        "driver": asdict(driver.stats),
        "store": dict(driver.store.stats),
        "sessions": driver.sm.session_count(),
    }


def membership_json(effective: Any, committed: Any) -> dict[str, Any]:
    """`configs` of the latest appended membership, whether it is joint and committed."""
    return {
        "configs": [sorted(c) for c in effective.configs],
        "joint": effective.joint,
        "committed": effective == committed,
        "learners": sorted(effective.learners),
        "nodes": {str(i): info.addr for i, info in sorted(effective.nodes.items())},
        "cluster_id": effective.cluster_id or None,
    }
