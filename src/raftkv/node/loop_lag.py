"""Event-loop lag: how late a timer fires tells how long the loop was kept from running.

A task sleeps `interval_s` again and again and records, on each wake-up, how much later than
asked it ran, in the `raftkv_event_loop_lag_seconds` histogram. A lag longer than a heartbeat
interval is logged as a warning: that long, the node sent no heartbeats and answered nothing,
and a follower may have started an election because of it.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry, Histogram

from .logs import event

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LoopLagMonitor:
    def __init__(
        self,
        registry: CollectorRegistry,
        log: logging.Logger,
        *,
        warn_after_s: float,
        interval_s: float = 0.05,
    ) -> None:
        self.histogram = Histogram(
            "raftkv_event_loop_lag_seconds",
            "How much later than scheduled the event loop ran a timer",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.log = log
        self.warn_after_s = warn_after_s
        self.interval_s = interval_s
        self.worst_s = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.record(max(0.0, loop.time() - expected))

    def record(self, lag_s: float) -> None:
        self.histogram.observe(lag_s)
        self.worst_s = max(self.worst_s, lag_s)
        if lag_s > self.warn_after_s:
            event(
                self.log,
                "event loop blocked longer than a heartbeat interval",
                logging.WARNING,
                blocked_ms=round(lag_s * 1000),
                heartbeat_ms=round(self.warn_after_s * 1000),
            )
