"""The event-loop lag monitor: a blocked loop shows in the histogram and in the log."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from raftkv.node.loop_lag import LoopLagMonitor


async def test_a_blocked_loop_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    log = logging.getLogger("test.lag")
    monitor = LoopLagMonitor(registry, log, warn_after_s=0.1, interval_s=0.01)
    caplog.set_level(logging.WARNING, logger="test.lag")
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # blocks the loop, as a whole-state snapshot on the loop used to
    await asyncio.sleep(0.05)
    task.cancel()
    assert monitor.worst_s >= 0.25
    text = generate_latest(registry).decode()
    assert 'raftkv_event_loop_lag_seconds_bucket{le="0.25"}' in text
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("raftkv_event_loop_lag_seconds_count")
    )
    assert count >= 3
    warnings = [r for r in caplog.records if "blocked longer than a heartbeat" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_free_loop_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(
        CollectorRegistry(), logging.getLogger("test.lag2"), warn_after_s=0.5, interval_s=0.01
    )
    caplog.set_level(logging.WARNING, logger="test.lag2")
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.1)
    task.cancel()
    assert not caplog.records
