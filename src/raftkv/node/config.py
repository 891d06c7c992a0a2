"""The node's YAML config: the reference node's fields and defaults, plus raftkv's extras.

A config the node cannot use is refused before anything starts, with one line that names the
field (`ConfigError`); `main` turns it into exit status 2.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from raftkv.core import CoreConfig

MIB = 1024 * 1024

NodeIdField = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PositiveMs = Annotated[int, msgspec.Meta(gt=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class ConfigError(Exception):
    """The config is unusable; the message is one line that starts with the field's name."""


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One node's settings. The first seven fields are the reference node's, same defaults."""

    node_id: NodeIdField
    http_port: Port
    public_addr: str
    peer_addrs: dict[NodeIdField, str] = msgspec.field(default_factory=dict)
    heartbeat_interval_ms: PositiveMs = 500
    election_timeout_min_ms: PositiveMs = 1500
    election_timeout_max_ms: PositiveMs = 3000
    campaign_on_leader_disconnect: bool = True
    """A follower whose leader's stream ends without a close handshake (the leader's process
    died) campaigns within election_timeout_min / 4 instead of waiting out its timeout.
    Pauses, partitions and machine failures close nothing: the timeout still finds those."""
    data_dir: str | None = None
    """Default: `raftkv-data-<node_id>` beside the config file."""
    bind_host: str = "0.0.0.0"
    snapshot_threshold: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    """Applied entries between two snapshots of the state machine."""
    auth_token: str | None = None
    cluster_name: str | None = None
    """A label for operators (logs and `/admin/metrics`); the cluster's identity is the
    `cluster_id` that `/admin/init` draws."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = MIB
    forward_timeout_s: PositiveSeconds = 10.0
    """Cap on the time a forwarded request may take (the caller's remaining deadline is the
    other cap; the leader gets the smaller one)."""
    request_timeout_s: PositiveSeconds = 10.0
    """Deadline of a client request that does not carry one (writes, reads, admin calls)."""
    max_sessions: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    state_cache_mb: Annotated[int, msgspec.Meta(ge=1, le=65536)] = 32
    """SQLite page cache of the state store: with it, what bounds the node's memory."""
    state_kv_max_keys: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    """`/state` includes `kv` only up to this many keys (and 16 MiB of values); beyond, read
    the state with `GET /kv/scan`."""
    max_snapshot_mb: Annotated[int, msgspec.Meta(ge=1)] = 65536
    """Largest snapshot this node accepts from a leader (announced before the first chunk;
    a larger one is refused, counted and logged)."""
    max_promote_lag: Annotated[int, msgspec.Meta(ge=0)] = 1000
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # The HTTP server's bounds (see `http_server.py`).
    http_max_connections: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Open connections at most (None: 1024, or less if the open-file limit demands it)."""
    http_header_timeout_s: PositiveSeconds = 10.0
    """A new connection must have sent a whole request head within this."""
    http_idle_timeout_s: PositiveSeconds = 60.0
    """A connection with no request in progress is closed after this (above the 15 s after
    which aiohttp clients drop an idle connection, so a peer never reuses one being closed)."""
    http_max_streams: Annotated[int, msgspec.Meta(ge=1)] = 64
    """`/raft/stream` WebSockets open at once at most (one per peer is the norm)."""

    def core_config(self) -> CoreConfig:
        return CoreConfig(
            heartbeat_interval=self.heartbeat_interval_ms,
            election_timeout_min=self.election_timeout_min_ms,
            election_timeout_max=self.election_timeout_max_ms,
            campaign_on_leader_disconnect=self.campaign_on_leader_disconnect,
            max_promote_lag=self.max_promote_lag,
        )

    @property
    def specific_bind_host(self) -> str | None:
        """The bind address when it names one interface (peer connections then use it as
        their source address), None for a wildcard."""
        return None if self.bind_host in ("0.0.0.0", "::", "") else self.bind_host


def load_config(path: Path) -> tuple[NodeConfig, Path]:
    """Read, decode and check a config file; returns it and its resolved data directory."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from exc
    try:
        # strict=False: peer_addrs keys may be quoted ("1": ...) as YAML writers often do.
        config = msgspec.yaml.decode(raw, type=NodeConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_field_message(str(exc))) from exc
    except msgspec.DecodeError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ConfigError(f"config: {path} is not valid YAML: {first_line}") from exc
    check_config(config)
    data_dir = Path(config.data_dir or f"raftkv-data-{config.node_id}")
    if not data_dir.is_absolute():
        data_dir = path.resolve().parent / data_dir
    return config, data_dir


def check_config(config: NodeConfig) -> None:
    """The cross-field rules msgspec cannot express; raises ConfigError for the first one."""
    if config.election_timeout_min_ms >= config.election_timeout_max_ms:
        raise ConfigError(
            "election_timeout_min_ms: must be below election_timeout_max_ms "
            f"({config.election_timeout_min_ms} >= {config.election_timeout_max_ms})"
        )
    if config.heartbeat_interval_ms >= config.election_timeout_min_ms:
        raise ConfigError(
            "heartbeat_interval_ms: must be below election_timeout_min_ms "
            f"({config.heartbeat_interval_ms} >= {config.election_timeout_min_ms})"
        )
    _check_addr("public_addr", config.public_addr)
    for peer_id, addr in config.peer_addrs.items():
        _check_addr(f"peer_addrs.{peer_id}", addr)
    if config.specific_bind_host is not None and not _is_host(config.bind_host):
        raise ConfigError(f"bind_host: {config.bind_host!r} is not an IP address or host name")
    if config.auth_token is not None and not config.auth_token.strip():
        raise ConfigError("auth_token: must not be empty (leave it out to disable auth)")


HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return HOST_NAME.match(host) is not None
    return True


def _check_addr(field: str, addr: str) -> None:
    """`host:port` with no scheme and a port in range."""
    host, sep, port = addr.rpartition(":")
    if not sep or not host or "/" in addr or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{field}: {addr!r} is not host:port (no scheme, port 1-65535)")


def _field_message(error: str) -> str:
    """msgspec says "Expected `int`, got `str` - at `$.node_id`"; lead with the field."""
    message, sep, where = error.rpartition(" - at ")
    if sep:
        field = (
            where.split("`$.")[-1]
            .rstrip("`")
            .replace("[...]", "")
            .replace("[", ".")
            .replace("]", "")
        )
        return f"{field}: {message}"
    missing = error.removeprefix("Object missing required field ")
    if missing != error:
        return f"{missing.strip('`')}: required field is missing"
    return f"config: {error}"


def host_port_problem(addr: str) -> str | None:
    """Why `addr` is not `host:port` (a host name, an IPv4 address or a bracketed IPv6 one, then
    a port 1-65535; no scheme, path or spaces), or None when it is. For addresses that arrive
    at run time (add-learner), where a bad one must be refused before it is replicated."""
    host, sep, port = addr.rpartition(":")
    if not sep or not host:
        return "is not host:port"
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and 1 <= int(port) <= 65535):
        return "has no port in 1-65535 after the last ':'"
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return "has no valid IPv6 address in brackets"
        return None
    if not host.isascii() or not _is_host(host) or ":" in host:
        return "has no valid host name or IPv4 address before the port"
    return None
