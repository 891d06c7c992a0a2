"""`/openapi.json`: every endpoint and body, generated from msgspec structs: those `wire.py`
decodes requests with, and the answer structs below for what handlers build as dicts.

A GET endpoint's request struct describes its query parameters; any other's, its JSON body.
Every error status an endpoint can answer is listed with the codes it carries (`wire.
ERROR_CODES`); `schemathesis` checks the answers of a leader and a follower against this
document in the test suite (`tests/node/test_node_openapi_conformance.py`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .admin import TransferLeaderRequest, TransferLeaderResponse
from .context import DEADLINE_MAX_DIGITS
from .wire import (
    DEADLINE_HEADER,
    ERROR_CODES,
    AddLearnerRequest,
    ChangeMembershipRequest,
    Identity,
    InitRequest,
    ReadRequest,
    ReadResponse,
    ScanQuery,
    StateQuery,
    WriteRequest,
    WriteResponse,
)

REF = "#/components/schemas/"


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


class ReplicationProgress(msgspec.Struct, frozen=True):
    """The leader's view of one follower or learner."""

    match_index: int
    next_index: int
    state: Annotated[str, Meta(description="probe, replicate or snapshot")]


class AdminMetrics(msgspec.Struct, frozen=True):
    """`GET /admin/metrics` success: this node's Raft state and counters."""

    node_id: int
    role: str
    current_term: int
    vote: int | None
    current_leader: int | None
    last_log_index: int
    last_log_term: int
    committed_index: int
    last_applied_index: int
    snapshot_index: int
    membership: Membership
    replication: Annotated[
        dict[str, ReplicationProgress], Meta(description="By node id; on the leader only")
    ]
    peers_up: dict[str, bool]
    driver: Annotated[dict[str, int], Meta(description="The driver's counters")]
    store: Annotated[dict[str, int], Meta(description="The log store's counters")]
    sessions: int
    cluster_name: str | None


# Error codes by where they can come from, for each endpoint's list of failures.
ANY = ("too_many_connections",)
BODY = ("bad_request", "body_too_large")
AUTH = ("bad_request", "unauthorized")
FORWARD = ("not_leader", "forward_failed", "no_leader", "timeout")
MEMBERSHIP = (
    "learner_not_found",
    "learner_lagging",
    "membership_change_in_progress",
    "proposal_dropped",
)
RAFT = (*AUTH, "cluster_mismatch", "too_many_streams")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    request: type | None = None
    """Query parameters of a GET, else the JSON body."""
    payload: type | None = None
    """The success payload (None: `null`, or text for `text`)."""
    wrapped: bool = True
    """Success is `{"Ok": payload}`."""
    errors: tuple[str, ...] = ()
    body_required: bool = False
    nullable_body: bool = False
    """The body may also be JSON `null` (or empty, when not required)."""
    text: bool = False
    """Success is text/plain."""
    protected: bool = False
    """Needs the bearer token when the node has `auth_token`."""
    deadline: bool = False
    """Takes `X-Raftkv-Deadline-Ms`."""


ENDPOINTS: list[Endpoint] = [
    Endpoint("get", "/healthz", "Readiness: the text `ok`", wrapped=False, text=True),
    Endpoint(
        "get",
        "/state",
        "Role, leader, membership, indexes, the state's digest and (unless ?kv=false, and "
        "while it is small) the data",
        StateQuery,
        StateResponse,
        wrapped=False,
        errors=("bad_request",),
    ),
    Endpoint(
        "post",
        "/kv/write",
        "Replicated write (forwarded to the leader)",
        WriteRequest,
        WriteResponse,
        errors=(
            *BODY,
            *FORWARD,
            "serial_conflict",
            "stale_serial",
            "leader_changed",
            "proposal_dropped",
        ),
        body_required=True,
        deadline=True,
    ),
    Endpoint(
        "post",
        "/kv/read",
        "Read, local or linearizable (ReadIndex, on any node)",
        ReadRequest,
        ReadResponse,
        errors=(*BODY, "no_leader", "timeout"),
        body_required=True,
        deadline=True,
    ),
    Endpoint(
        "get",
        "/kv/scan",
        "A page of this node's applied state: keys under `prefix` after `after`, in order",
        ScanQuery,
        ScanResponse,
        errors=("bad_request",),
    ),
    Endpoint(
        "post",
        "/admin/init",
        "Initialize a one-node cluster (idempotent while that is all the cluster is)",
        InitRequest,
        errors=(*AUTH, *BODY, "already_initialized", "proposal_dropped", "timeout"),
        nullable_body=True,
        protected=True,
        deadline=True,
    ),
    Endpoint(
        "post",
        "/admin/add-learner",
        "Add a learner (blocking by default: answers once it caught up)",
        AddLearnerRequest,
        errors=(*AUTH, *BODY, *FORWARD, *MEMBERSHIP, "cluster_mismatch", "learner_unreachable"),
        body_required=True,
        protected=True,
        deadline=True,
    ),
    Endpoint(
        "post",
        "/admin/change-membership",
        "Change the voter set (answers once the new configuration committed)",
        ChangeMembershipRequest,
        errors=(*AUTH, *BODY, *FORWARD, *MEMBERSHIP),
        body_required=True,
        protected=True,
        deadline=True,
    ),
    Endpoint(
        "post",
        "/admin/transfer-leader",
        "Hand leadership to a voter (`to`; empty, null or `to: null`: the most up-to-date one)",
        TransferLeaderRequest,
        TransferLeaderResponse,
        errors=(*AUTH, *BODY, *FORWARD, "proposal_dropped"),
        nullable_body=True,
        protected=True,
        deadline=True,
    ),
    Endpoint(
        "get",
        "/admin/metrics",
        "Raft metrics of this node",
        payload=AdminMetrics,
        errors=AUTH,
        protected=True,
    ),
    Endpoint("get", "/metrics", "Prometheus metrics", wrapped=False, text=True),
    Endpoint(
        "get",
        "/raft/stream",
        "Peer stream: a WebSocket (`Upgrade: websocket`) whose binary frames are msgpack "
        "arrays of peer envelopes; without the upgrade, 400",
        wrapped=False,
        errors=RAFT,
        protected=True,
    ),
    Endpoint(
        "post",
        "/raft/vote",
        "Peer RPC: vote, pre-vote, TimeoutNow (a msgpack peer envelope)",
        wrapped=False,
        errors=(*RAFT, "body_too_large"),
        protected=True,
    ),
    Endpoint(
        "post",
        "/raft/append",
        "Peer RPC: append entries, read index (a msgpack peer envelope)",
        wrapped=False,
        errors=(*RAFT, "body_too_large"),
        protected=True,
    ),
    Endpoint(
        "post",
        "/raft/snapshot",
        "Peer RPC: one chunk of a snapshot (a msgpack peer envelope)",
        wrapped=False,
        errors=(*RAFT, "body_too_large"),
        protected=True,
    ),
    Endpoint(
        "get",
        "/raft/identity",
        "Node id, storage id and cluster id of this node",
        payload=Identity,
        errors=AUTH,
        protected=True,
    ),
    Endpoint("get", "/openapi.json", "This document", wrapped=False),
]

MSGPACK = "application/msgpack"
ADDR_PATTERN = r"^\S+:[0-9]{1,5}$"
"""Looser than the node's own check (`config.host_port_problem`): whatever breaks this
pattern the node refuses too."""


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Err"],
        "properties": {
            "Err": {
                "type": "object",
                "required": ["code", "message", "indeterminate"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(ERROR_CODES)},
                    "message": {"type": "string"},
                    "indeterminate": {
                        "type": "boolean",
                        "description": "false: nothing was or will be applied",
                    },
                },
                "additionalProperties": True,
            }
        },
    }


def _failures(endpoint: Endpoint) -> dict[str, Any]:
    """One response per error status the endpoint can answer, naming its codes."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys((*endpoint.errors, *ANY)):
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        text = "; ".join(f"`{code}`: {ERROR_CODES[code][1]}" for code in codes)
        responses[str(status)] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": REF + "Error"}}},
        }
        if status == 405:
            responses[str(status)]["headers"] = {"Allow": {"schema": {"type": "string"}}}
    return responses


def _success(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.text:
        return {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if endpoint.path == "/raft/stream":
        return {"description": "never: the answer is 101 Switching Protocols"}
    if endpoint.path.startswith("/raft/") and endpoint.method == "post":
        return {"description": "the message was taken (an empty body)"}
    if endpoint.path == "/openapi.json":
        return {"description": "this document", "content": {"application/json": {"schema": {}}}}
    body: dict[str, Any] = (
        {"$ref": REF + endpoint.payload.__name__} if endpoint.payload else {"type": "null"}
    )
    if endpoint.wrapped:
        body = {"type": "object", "properties": {"Ok": body}, "required": ["Ok"]}
    return {"description": "success", "content": {"application/json": {"schema": body}}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": endpoint.summary}
    parameters: list[dict[str, Any]] = []
    if endpoint.request is not None and endpoint.method == "get":
        parameters += query_parameters(endpoint.request)
    elif endpoint.request is not None:
        schema: dict[str, Any] = {"$ref": REF + endpoint.request.__name__}
        if endpoint.nullable_body:
            schema = {"anyOf": [schema, {"type": "null"}]}
        operation["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": {"schema": schema}},
        }
    elif endpoint.path.startswith("/raft/") and endpoint.method == "post":
        operation["requestBody"] = {
            "required": True,
            "content": {MSGPACK: {"schema": {"type": "string", "format": "binary"}}},
        }
    if endpoint.deadline:
        parameters.append(
            {
                "name": DEADLINE_HEADER,
                "in": "header",
                "required": False,
                "description": "Milliseconds the caller still waits (the node uses the smaller "
                "of it and `request_timeout_s`)",
                "schema": {"type": "string", "pattern": f"^[0-9]{{1,{DEADLINE_MAX_DIGITS}}}$"},
            }
        )
    if endpoint.path == "/raft/stream":
        for name, value in (("Upgrade", "websocket"), ("Connection", "Upgrade")):
            parameters.append(
                {"name": name, "in": "header", "required": True, "schema": {"const": value}}
            )
    if parameters:
        operation["parameters"] = parameters
    if endpoint.protected:
        operation["security"] = [{}, {"bearer": []}]
    responses = {"200": _success(endpoint), **_failures(endpoint)}
    if endpoint.path == "/raft/stream":
        responses = {"101": {"description": "the WebSocket is open"}, **_failures(endpoint)}
    operation["responses"] = responses
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
        for e in ENDPOINTS
        for struct in (None if e.method == "get" else e.request, e.payload)
        if struct is not None
    ]
    _, components = msgspec.json.schema_components(structs, ref_template=REF + "{name}")
    components["Error"] = error_schema()
    components["AddLearnerRequest"]["properties"]["addr"]["pattern"] = ADDR_PATTERN
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "raftkv node", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The node's `auth_token`; required only when it is set",
                }
            },
        },
    }
