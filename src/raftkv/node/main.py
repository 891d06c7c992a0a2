"""`raftkv-node --config node.yaml`: start one node.

Start-up order: config, identity (read), the data directory checked whole, recovery from
disk, the identity created on a first start (last, so that an identity always has a log
beside it), the core, the driver; only then the HTTP port opens. SIGTERM/SIGINT: a leader
hands leadership over first, then the node stops its driver, flushes storage and exits 0.
A config or data directory the node cannot use exits 2 with one line naming the field.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import random
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import msgspec
from aiohttp import web

from raftkv.core import BootState, RaftKVError, RawNode, Role
from raftkv.kv import STATE_FILE, StateStore, StateStoreError
from raftkv.storage import (
    DamagedStorage,
    DurableStore,
    Identity,
    IdentityMismatch,
    StorageError,
    check_data_directory,
    create_identity,
    load_identity,
)
from raftkv.storage.log_store import SNAPSHOT_DIR

from .app import build_app
from .config import ConfigError, NodeConfig, load_config
from .context import NodeContext
from .driver import Driver, now_ms
from .http_server import (
    PEER_CONNECTIONS,
    BoundedSite,
    connection_cap,
    install_malformed_request_log,
    raise_fd_limit,
)
from .logs import event, setup_logging
from .loop_lag import LoopLagMonitor
from .metrics import NodeMetrics
from .state_snapshots import DamagedState, StateFiles, reconcile_at_start
from .transport import PeerBook, PeerTransport

HANDOVER_TIMEOUT_S = 1.2
"""How long a stopping leader waits for another node to lead (exit stays within 2 s)."""
SNAPSHOT_CHUNK_BYTES = 512 * 1024
LOG_LEVELS = ["debug", "info", "warning", "error"]


class StartupError(Exception):
    """The node cannot start; one line naming the field, exit status 2."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="raftkv-node", description="Run one raftkv node.")
    parser.add_argument("--config", required=True, type=Path, help="the node's YAML config")
    parser.add_argument("--log-format", choices=["text", "json"], help="overrides log_format")
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        help="overrides log_level (also env RAFTKV_LOG)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config, data_dir = load_config(args.config)
        max_connections = connection_cap(config, raise_fd_limit())
        identity = _identity(data_dir, config.node_id)
    except (ConfigError, StartupError) as exc:
        print(f"raftkv-node: {exc}", file=sys.stderr)
        return 2
    level = args.log_level or os.environ.get("RAFTKV_LOG", "").lower() or config.log_level
    if level not in LOG_LEVELS:
        print(f"raftkv-node: RAFTKV_LOG: {level!r} is not one of {LOG_LEVELS}", file=sys.stderr)
        return 2
    log = setup_logging(args.log_format or config.log_format, level)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    try:
        return asyncio.run(serve(config, data_dir, identity, log, max_connections))
    except StartupError as exc:
        print(f"raftkv-node: {exc}", file=sys.stderr)
        return 2


def _identity(data_dir: Path, node_id: int) -> Identity | None:
    """The stored identity (None on a first start), once the directory is known whole."""
    try:
        identity = load_identity(data_dir, node_id)
        check_data_directory(data_dir, state_files=(STATE_FILE,))
    except IdentityMismatch as exc:
        raise StartupError(f"node_id: {exc}") from exc
    except StorageError as exc:
        raise StartupError(f"data_dir: {exc}") from exc
    return identity


def _create_identity(data_dir: Path, node_id: int) -> Identity:
    try:
        return create_identity(data_dir, node_id)
    except StorageError as exc:
        raise StartupError(f"data_dir: {exc}") from exc


def _open_store(data_dir: Path) -> DurableStore:
    try:
        return DurableStore.open(data_dir)
    except StorageError as exc:
        raise StartupError(f"data_dir: {exc}") from exc


def _open_state(
    config: NodeConfig, data_dir: Path, boot: BootState, snapshot_data: bytes | None
) -> tuple[StateFiles, str]:
    """The state store, reconciled with the recovered log (see `reconcile_at_start`)."""
    try:
        state = StateStore(
            data_dir / STATE_FILE,
            max_sessions=config.max_sessions,
            cache_bytes=config.state_cache_mb << 20,
        )
    except (StateStoreError, sqlite3.Error) as exc:
        raise StartupError(f"data_dir: {exc}") from exc
    files = StateFiles(state, data_dir / SNAPSHOT_DIR)
    snapshot_index = boot.snapshot.last_index if boot.snapshot is not None else 0
    last_index = boot.entries[-1].index if boot.entries else snapshot_index
    try:
        return files, reconcile_at_start(files, snapshot_index, last_index, snapshot_data)
    except DamagedState as exc:
        files.close()
        damaged = DamagedStorage(state.path, f"does not fit the log ({exc})", data_dir)
        raise StartupError(f"data_dir: {damaged}") from exc
    except (StateStoreError, sqlite3.Error, OSError) as exc:
        files.close()
        raise StartupError(f"data_dir: {exc}") from exc


def _peer_session(config: NodeConfig) -> aiohttp.ClientSession:
    """Keep-alive session for peers and forwarding; DNS cached at most 1 s (container IPs
    change on restart); with a specific bind host, connections leave from it."""
    local = config.specific_bind_host
    connector = aiohttp.TCPConnector(
        limit=PEER_CONNECTIONS, ttl_dns_cache=1, local_addr=(local, 0) if local else None
    )
    return aiohttp.ClientSession(connector=connector)


async def serve(
    config: NodeConfig,
    data_dir: Path,
    identity: Identity | None,
    log: logging.Logger,
    max_connections: int,
) -> int:
    """Recover, open the port, drive the core until a signal; the exit status."""
    store = _open_store(data_dir)
    try:
        boot, snapshot_data = store.recover()
    except StorageError as exc:
        await store.close()
        raise StartupError(f"data_dir: {exc}") from exc
    try:
        files, recovered = _open_state(config, data_dir, boot, snapshot_data)
    except StartupError:
        await store.close()
        raise
    if identity is None:
        try:
            identity = _create_identity(data_dir, config.node_id)
        except StartupError:
            files.close()
            await store.close()
            raise
    boot = msgspec.structs.replace(boot, applied_index=files.store.applied_index)
    core = RawNode(config.node_id, config.core_config(), random.Random(), now_ms(), boot)
    session = _peer_session(config)
    ctx = _assemble(config, identity, core, store, files, session, log)
    install_malformed_request_log(ctx.metrics)
    runner = web.AppRunner(
        build_app(ctx),
        access_log=None,
        shutdown_timeout=0.3,
        keepalive_timeout=config.http_idle_timeout_s,
    )
    try:
        await _open_port(runner, config, ctx.metrics, max_connections)
    except StartupError:
        await runner.cleanup()
        await session.close()
        await store.close()
        files.close()
        raise
    # The driver starts once the port is ours: a node that cannot serve never speaks Raft
    # (requests accepted meanwhile wait in its inbox).
    driver_task = asyncio.create_task(ctx.driver.run(), name="raftkv-driver")
    lag = LoopLagMonitor(
        ctx.metrics.registry, log, warn_after_s=config.heartbeat_interval_ms / 1000
    )
    lag_task = asyncio.create_task(lag.run(), name="raftkv-loop-lag")
    gc.collect()
    gc.freeze()
    event(
        log,
        "node started",
        node_id=config.node_id,
        addr=config.public_addr,
        cluster_name=config.cluster_name,
        data_dir=str(data_dir),
        last_index=boot.entries[-1].index if boot.entries else 0,
        snapshot=boot.snapshot.last_index if boot.snapshot else 0,
        state=recovered,
        max_connections=max_connections,
    )
    fixed = files.store.cluster_max_sessions
    if fixed and fixed != config.max_sessions:
        event(
            log,
            "max_sessions in the config differs from the cluster's, fixed when it was created;"
            " the cluster's applies (every replica must evict the same sessions)",
            logging.WARNING,
            config=config.max_sessions,
            cluster=fixed,
        )
    transport = ctx.driver.transport
    try:
        return await _run_until_signal(ctx, driver_task, runner, transport, session, store)
    finally:
        lag_task.cancel()


def _assemble(
    config: NodeConfig,
    identity: Identity,
    core: RawNode,
    store: DurableStore,
    files: StateFiles,
    session: aiohttp.ClientSession,
    log: logging.Logger,
) -> NodeContext:
    """Wire the transport, the driver and the metrics around a recovered core."""
    peers = PeerBook(static_addrs=dict(config.peer_addrs))
    transport = PeerTransport(
        node_id=config.node_id,
        public_addr=config.public_addr,
        session=session,
        peers=peers,
        auth_token=config.auth_token,
        snapshot_source=lambda msg: driver.snapshot_to_send(msg),
        chunk_bytes=SNAPSHOT_CHUNK_BYTES,
        backoff_cap_s=config.heartbeat_interval_ms / 1000,
        request_timeout_s=config.election_timeout_max_ms / 1000,
        log=log,
    )
    driver = Driver(
        node_id=config.node_id,
        core=core,
        store=store,
        state_files=files,
        transport=transport,
        peers=peers,
        snapshot_threshold=config.snapshot_threshold,
        log=log,
    )
    metrics = NodeMetrics()
    metrics.attach(driver)
    return NodeContext(config, identity, driver, session, metrics)


async def _open_port(
    runner: web.AppRunner, config: NodeConfig, metrics: NodeMetrics, max_connections: int
) -> None:
    await runner.setup()
    bounds = {
        "cap": max_connections,
        "header_timeout_s": config.http_header_timeout_s,
        "metrics": metrics,
    }
    site = BoundedSite(runner, config.bind_host, config.http_port, bounds)
    try:
        await site.start()
    except OSError as exc:
        raise StartupError(
            f"http_port: cannot listen on {config.bind_host}:{config.http_port}: {exc.strerror}"
        ) from exc


async def _run_until_signal(
    ctx: NodeContext,
    driver_task: asyncio.Task[None],
    runner: web.AppRunner,
    transport: PeerTransport,
    session: aiohttp.ClientSession,
    store: DurableStore,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stop_wait = asyncio.create_task(stop.wait())
    await asyncio.wait([stop_wait, driver_task], return_when=asyncio.FIRST_COMPLETED)
    log = ctx.driver.log
    if driver_task.done():
        stop_wait.cancel()
        exc = driver_task.exception()
        log.error("driver stopped: %s", exc, exc_info=exc)
        await _close(ctx, driver_task, runner, transport, session, store)
        return 1
    event(log, "stopping", role=ctx.driver.role.title)
    await _hand_over(ctx)
    ctx.driver.stop()
    await _close(ctx, driver_task, runner, transport, session, store)
    event(log, "stopped")
    return 0


async def _hand_over(ctx: NodeContext) -> None:
    """A leader transfers leadership and waits (bounded) until another node leads."""
    driver = ctx.driver
    if driver.role != Role.LEADER:
        return
    try:
        target = await driver.call(lambda core: core.transfer_leadership(None))
    except RaftKVError as exc:  # no other voter, or no longer the leader
        event(driver.log, "no leadership transfer", reason=str(exc))
        return
    event(driver.log, "transferring leadership", target=target)
    other_leads = driver.watch(lambda st: st.leader_id not in (None, ctx.node_id))
    with contextlib.suppress(TimeoutError, Exception):
        await asyncio.wait_for(other_leads, HANDOVER_TIMEOUT_S)


async def _close(
    ctx: NodeContext,
    driver_task: asyncio.Task[None],
    runner: web.AppRunner,
    transport: PeerTransport,
    session: aiohttp.ClientSession,
    store: DurableStore,
) -> None:
    """Stop in dependency order; storage last, so every queued write is flushed."""
    with contextlib.suppress(Exception):
        await driver_task
    await runner.cleanup()
    await transport.close()
    await session.close()
    await ctx.driver.wait_snapshot_task()
    await store.close()
    ctx.driver.files.close()


if __name__ == "__main__":
    sys.exit(main())
