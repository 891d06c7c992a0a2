"""The request shapes of the two systems: the only part of the client path that differs.

raftkv takes `POST /kv/write {key, value, serial, client_id}` and `POST /kv/read {key,
consistency}` and answers 200 `{"Ok": ...}`. etcd's v3 JSON gateway takes `POST /v3/kv/put
{key, value}` and `POST /v3/kv/range {key}` with base64 keys and values (a range is
linearizable unless it asks to be serializable) and answers 200 with a `header`. Both
answers are decoded as JSON, so each system's success check costs the client the same.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from dataclasses import dataclass

import msgspec

KEY_BYTES = 16
VALUE_BYTES = 16
"""The size of the workloads' keys and values; the state-growth phase picks its own."""
B64_CACHE_SIZE = 4096
"""Encodings kept by `EtcdProtocol`: the workloads' fixed pools fit, unique keys pass by."""
_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


@dataclass(slots=True)
class WriterSession:
    """One bench client's identity for raftkv's client sessions: a random id and the next
    serial. Invariant: serials only grow, one per write sent."""

    client_id: str
    next_serial: int = 1

    def take_serial(self) -> int:
        serial = self.next_serial
        self.next_serial += 1
        return serial


class KvProtocol(ABC):
    """How one system spells a write and a linearizable read, and what success looks like."""

    name: str
    write_path: str
    read_path: str

    @abstractmethod
    def write_body(self, key: str, value: str, session: WriterSession) -> bytes:
        """The JSON body of a write of `value` at `key`, both ASCII (the workloads use
        `KEY_BYTES` and `VALUE_BYTES`). The body is complete: sending it again is a retry."""

    @abstractmethod
    def read_body(self, key: str) -> bytes:
        """The JSON body of a linearizable read of `key`."""

    @abstractmethod
    def succeeded(self, status: int, body: bytes) -> bool:
        """Whether an answer is a success of the operation."""

    @abstractmethod
    def read_value(self, body: bytes) -> str | None:
        """The value in a successful read's answer; None for a missing key or no value."""


class RaftkvProtocol(KvProtocol):
    name = "raftkv"
    write_path = "/kv/write"
    read_path = "/kv/read"

    def write_body(self, key: str, value: str, session: WriterSession) -> bytes:
        return _encode_json(
            {
                "key": key,
                "value": value,
                "serial": session.take_serial(),
                "client_id": session.client_id,
            }
        )

    def read_body(self, key: str) -> bytes:
        return _encode_json({"key": key, "consistency": "linearizable"})

    def succeeded(self, status: int, body: bytes) -> bool:
        if status != 200:
            return False
        try:
            answer = _decode_json(body)
        except msgspec.DecodeError:
            return False
        return isinstance(answer, dict) and "Ok" in answer

    def read_value(self, body: bytes) -> str | None:
        answer = _decode_json(body)
        payload = answer.get("Ok") if isinstance(answer, dict) else None
        value = payload.get("value") if isinstance(payload, dict) else None
        return value if isinstance(value, str) else None


class EtcdProtocol(KvProtocol):
    name = "etcd"
    write_path = "/v3/kv/put"
    read_path = "/v3/kv/range"

    def __init__(self) -> None:
        # The workloads' keys and values come from small fixed pools; encoding each once
        # keeps base64 off the client's per-request cost (raftkv's plain strings need no
        # such step). Bounded: the state-growth phase writes a million unique keys.
        self._b64: dict[str, str] = {}

    def _base64(self, text: str) -> str:
        encoded = self._b64.get(text)
        if encoded is None:
            encoded = base64.b64encode(text.encode()).decode()
            if len(self._b64) < B64_CACHE_SIZE:
                self._b64[text] = encoded
        return encoded

    def write_body(self, key: str, value: str, session: WriterSession) -> bytes:
        session.take_serial()
        return _encode_json({"key": self._base64(key), "value": self._base64(value)})

    def read_body(self, key: str) -> bytes:
        return _encode_json({"key": self._base64(key)})

    def succeeded(self, status: int, body: bytes) -> bool:
        if status != 200:
            return False
        try:
            answer = _decode_json(body)
        except msgspec.DecodeError:
            return False
        return isinstance(answer, dict) and "header" in answer and "error" not in answer

    def read_value(self, body: bytes) -> str | None:
        answer = _decode_json(body)
        kvs = answer.get("kvs") if isinstance(answer, dict) else None
        if not isinstance(kvs, list) or not kvs or "value" not in kvs[0]:
            return None
        return base64.b64decode(kvs[0]["value"]).decode()


def protocol_for(system: str) -> KvProtocol:
    """The protocol of a system by name (`raftkv`, `raftkv-timeouts` or `etcd`)."""
    protocols: dict[str, type[KvProtocol]] = {
        "raftkv": RaftkvProtocol,
        "raftkv-timeouts": RaftkvProtocol,
        "etcd": EtcdProtocol,
    }
    try:
        return protocols[system]()
    except KeyError:
        raise ValueError(
            f"unknown system {system!r} (known: raftkv, raftkv-timeouts, etcd)"
        ) from None
