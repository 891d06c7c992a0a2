"""Config loading: the reference fields and defaults, and one line naming the field (exit 2)
for every config the node cannot use."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from raftkv.node.config import ConfigError, load_config

BASE = {"node_id": 0, "http_port": 18080, "public_addr": "127.0.0.1:18080"}


def write_config(tmp_path: Path, config: dict[str, object] | str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return path


def test_reference_defaults_and_data_dir_beside_the_config(tmp_path: Path) -> None:
    config, data_dir = load_config(write_config(tmp_path, BASE))
    assert (
        config.heartbeat_interval_ms,
        config.election_timeout_min_ms,
        config.election_timeout_max_ms,
    ) == (500, 1500, 3000)
    assert config.peer_addrs == {} and config.bind_host == "0.0.0.0"
    assert config.auth_token is None and config.max_body_bytes == 1024 * 1024
    assert data_dir == tmp_path.resolve() / "raftkv-data-0"


@pytest.mark.parametrize("host", ["127.0.0.11", "::1", "localhost", "node-0.raftkv.svc"])
def test_bind_host_is_an_address_or_a_host_name(tmp_path: Path, host: str) -> None:
    config, _ = load_config(write_config(tmp_path, {**BASE, "bind_host": host}))
    assert config.specific_bind_host == host


def test_peer_ids_may_be_quoted(tmp_path: Path) -> None:
    text = "node_id: 1\nhttp_port: 9\npublic_addr: 'h:9'\npeer_addrs: {0: 'h:8', '2': 'h:10'}\n"
    config, _ = load_config(write_config(tmp_path, text))
    assert config.peer_addrs == {0: "h:8", 2: "h:10"}


BAD_CONFIGS = [
    ("node-id-text", {**BASE, "node_id": "zero"}, "node_id:"),
    ("node-id-negative", {**BASE, "node_id": -1}, "node_id:"),
    ("node-id-missing", {k: v for k, v in BASE.items() if k != "node_id"}, "node_id:"),
    ("port-out-of-range", {**BASE, "http_port": 70000}, "http_port:"),
    ("port-zero", {**BASE, "http_port": 0}, "http_port:"),
    ("timeouts-inverted", {**BASE, "election_timeout_min_ms": 3000}, "election_timeout_min_ms:"),
    ("heartbeat-too-slow", {**BASE, "heartbeat_interval_ms": 1500}, "heartbeat_interval_ms:"),
    ("public-addr-scheme", {**BASE, "public_addr": "http://h:1"}, "public_addr:"),
    ("peer-addr-no-port", {**BASE, "peer_addrs": {1: "h"}}, "peer_addrs.1:"),
    ("peer-id-text", {**BASE, "peer_addrs": {"one": "h:1"}}, "peer_addrs:"),
    ("log-format", {**BASE, "log_format": "xml"}, "log_format:"),
    ("bind-host", {**BASE, "bind_host": "127.0.0.1:80"}, "bind_host:"),
    ("not-a-mapping", "- 1\n- 2\n", "config:"),
    ("not-yaml", "node_id: [1\n", "config:"),
]


@pytest.mark.parametrize(("config", "field"), [pytest.param(c, f, id=i) for i, c, f in BAD_CONFIGS])
def test_unusable_config_names_the_field(tmp_path: Path, config: object, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, config))  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(field) and "\n" not in message


def test_config_struct_round_trips_through_yaml(tmp_path: Path) -> None:
    config, _ = load_config(write_config(tmp_path, {**BASE, "snapshot_threshold": 7}))
    again, _ = load_config(write_config(tmp_path, msgspec.to_builtins(config)))
    assert again == config
