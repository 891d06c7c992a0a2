"""`/openapi.json`: every endpoint and body, generated from the msgspec structs in `wire.py`."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from .admin import TransferLeaderRequest, TransferLeaderResponse
from .wire import (
    AddLearnerRequest,
    ChangeMembershipRequest,
    Identity,
    InitRequest,
    ReadRequest,
    ReadResponse,
    WriteRequest,
    WriteResponse,
)

REF = "#/components/schemas/"

# (method, path, summary, request struct, Ok payload struct or None, wrapped in {"Ok": ...})
ENDPOINTS: list[tuple[str, str, str, type | None, type | None, bool]] = [
    ("get", "/healthz", "Readiness: the text `ok`", None, None, False),
    (
        "get",
        "/state",
        "Role, leader, membership, indexes and (unless ?kv=false) the data",
        None,
        None,
        False,
    ),
    (
        "post",
        "/kv/write",
        "Replicated write (forwarded to the leader)",
        WriteRequest,
        WriteResponse,
        True,
    ),
    ("post", "/kv/read", "Read, local or linearizable", ReadRequest, ReadResponse, True),
    ("post", "/admin/init", "Initialize a one-node cluster", InitRequest, None, True),
    (
        "post",
        "/admin/add-learner",
        "Add a learner (blocking by default)",
        AddLearnerRequest,
        None,
        True,
    ),
    (
        "post",
        "/admin/change-membership",
        "Change the voter set",
        ChangeMembershipRequest,
        None,
        True,
    ),
    (
        "post",
        "/admin/transfer-leader",
        "Hand leadership to a voter (`to`; null: the most up-to-date one)",
        TransferLeaderRequest,
        TransferLeaderResponse,
        True,
    ),
    ("get", "/admin/metrics", "Raft metrics of this node", None, None, True),
    ("get", "/metrics", "Prometheus metrics (text)", None, None, False),
    (
        "get",
        "/raft/stream",
        "Peer stream: a WebSocket whose binary frames are msgpack arrays of envelopes",
        None,
        None,
        False,
    ),
    (
        "post",
        "/raft/vote",
        "Peer RPC: vote, pre-vote, TimeoutNow (msgpack envelope)",
        None,
        None,
        False,
    ),
    (
        "post",
        "/raft/append",
        "Peer RPC: append entries, read index (msgpack envelope)",
        None,
        None,
        False,
    ),
    (
        "post",
        "/raft/snapshot",
        "Peer RPC: chunked snapshot install (msgpack envelope)",
        None,
        None,
        False,
    ),
    (
        "get",
        "/raft/identity",
        "Node id, storage id and cluster id of this node",
        None,
        Identity,
        True,
    ),
    ("get", "/openapi.json", "This document", None, None, False),
]

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "Err": {
            "type": "object",
            "required": ["code", "message", "indeterminate"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "indeterminate": {"type": "boolean"},
            },
            "additionalProperties": True,
        }
    },
}


def _operation(
    summary: str, request: type | None, payload: type | None, wrapped: bool
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary}
    if request is not None:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": {"$ref": REF + request.__name__}}}
        }
    body: dict[str, Any] = {"$ref": REF + payload.__name__} if payload is not None else {}
    if wrapped:
        body = {"type": "object", "properties": {"Ok": body}, "required": ["Ok"]}
    operation["responses"] = {
        "200": {"description": "success", "content": {"application/json": {"schema": body}}},
        "default": {
            "description": "failure",
            "content": {"application/json": {"schema": {"$ref": REF + "Error"}}},
        },
    }
    return operation


@functools.cache
def openapi_document() -> dict[str, Any]:
    structs = [s for _, _, _, req, resp, _ in ENDPOINTS for s in (req, resp) if s is not None]
    _, components = msgspec.json.schema_components(structs, ref_template=REF + "{name}")
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request, payload, wrapped in ENDPOINTS:
        paths.setdefault(path, {})[method] = _operation(summary, request, payload, wrapped)
    return {
        "openapi": "3.1.0",
        "info": {"title": "raftkv node", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
