"""`/openapi.json`: every endpoint and body, generated from msgspec structs: those `wire.py`
decodes requests with, and the answer structs below for what handlers build as dicts.

A GET endpoint's request struct describes its query parameters; any other's, its JSON body.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .admin import TransferLeaderRequest, TransferLeaderResponse
from .wire import (
    AddLearnerRequest,
    ChangeMembershipRequest,
    Identity,
    InitRequest,
    ReadRequest,
    ReadResponse,
    ScanQuery,
    WriteRequest,
    WriteResponse,
)

REF = "#/components/schemas/"


class StateQuery(msgspec.Struct, frozen=True):
    """`GET /state` query parameters."""

    kv: Annotated[bool, Meta(description="false leaves `kv` and `kv_omitted` out")] = True


class Membership(msgspec.Struct, frozen=True):
    """The latest appended membership: its voter configs (two while joint), whether it is
    committed, learners, and every member's address."""

    configs: list[list[int]]
    joint: bool
    committed: bool
    learners: list[int]
    nodes: dict[str, str]
    cluster_id: str | None


class StateResponse(msgspec.Struct, frozen=True):
    """`GET /state` (not wrapped in `{"Ok": ...}`): the reference node's fields (`node_id`
    to `voters`, and `kv`), then raftkv's."""

    node_id: int
    public_addr: str
    role: Annotated[str, Meta(description="Leader, Follower, Candidate, Learner or Shutdown")]
    current_leader: int | None
    current_term: int
    last_log_index: int
    last_applied_index: int
    voters: list[int]
    learners: list[int]
    committed_index: int
    snapshot_index: int
    membership: Membership
    cluster_id: str | None
    kv_digest: Annotated[
        str,
        Meta(
            pattern="^[0-9a-f]{16}$",
            description="An order-independent hash of keys, values and client sessions at "
            "`last_applied_index`: two nodes at the same applied index agree on it",
        ),
    ]
    kv_keys: Annotated[int, Meta(ge=0, description="How many keys the node holds")]
    kv: (
        Annotated[
            dict[str, str] | None,
            Meta(
                description="Every key and value; absent with ?kv=false, null when the node holds "
                "more than `state_kv_max_keys` keys or 16 MiB of values (see `kv_omitted`)"
            ),
        ]
        | UnsetType
    ) = UNSET
    kv_omitted: (
        Annotated[
            str, Meta(description="Why `kv` is null; page through the data with GET /kv/scan")
        ]
        | UnsetType
    ) = UNSET


class ScanResponse(msgspec.Struct, frozen=True):
    """`GET /kv/scan` success."""

    items: Annotated[list[tuple[str, str]], Meta(description="[key, value] pairs in key order")]
    next: Annotated[
        str | None,
        Meta(description="Pass as `after` for the following page; null: no more pairs"),
    ]


# (method, path, summary, request struct (query parameters of a GET, else the JSON body),
#  Ok payload struct or None, wrapped in {"Ok": ...})
ENDPOINTS: list[tuple[str, str, str, type | None, type | None, bool]] = [
    ("get", "/healthz", "Readiness: the text `ok`", None, None, False),
    (
        "get",
        "/state",
        "Role, leader, membership, indexes, the state's digest and (unless ?kv=false, and "
        "while it is small) the data",
        StateQuery,
        StateResponse,
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
    (
        "get",
        "/kv/scan",
        "A page of this node's applied state: keys under `prefix` after `after`, in order",
        ScanQuery,
        ScanResponse,
        True,
    ),
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
    method: str, summary: str, request: type | None, payload: type | None, wrapped: bool
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary}
    if request is not None and method == "get":
        operation["parameters"] = query_parameters(request)
    elif request is not None:
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


def query_parameters(query: type) -> list[dict[str, Any]]:
    """One `in: query` parameter per field of `query`; an optional one (`X | None`, None
    meaning absent) is described by its non-null type."""
    (_,), components = msgspec.json.schema_components([query])
    schema = components[query.__name__]
    parameters = []
    for name, field in schema["properties"].items():
        options = [option for option in field.get("anyOf", ()) if option != {"type": "null"}]
        if len(options) == 1:
            rest = {k: v for k, v in field.items() if k != "anyOf" and v is not None}
            field = {**options[0], **rest}
        described = {"name": name, "in": "query", "required": name in schema.get("required", ())}
        if "description" in field:
            described["description"] = field.pop("description")
        parameters.append({**described, "schema": field})
    return parameters


@functools.cache
def openapi_document() -> dict[str, Any]:
    structs = [
        struct
        for method, _, _, request, payload, _ in ENDPOINTS
        for struct in (None if method == "get" else request, payload)
        if struct is not None
    ]
    _, components = msgspec.json.schema_components(structs, ref_template=REF + "{name}")
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request, payload, wrapped in ENDPOINTS:
        paths.setdefault(path, {})[method] = _operation(method, summary, request, payload, wrapped)
    return {
        "openapi": "3.1.0",
        "info": {"title": "raftkv node", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
