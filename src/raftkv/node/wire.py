"""What crosses the node's sockets: client request/response bodies (JSON), the peer envelope
(msgpack), and the `{"Ok": ...}` / `{"Err": {...}}` envelopes of the HTTP contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from aiohttp import web

from raftkv.core import Message

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
NodeIdField = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]

FORWARDED_HEADER = "X-Raftkv-Forwarded"
DEADLINE_HEADER = "X-Raftkv-Deadline-Ms"
"""Milliseconds the caller still waits; a forwarded request carries the remaining deadline."""


# --- client requests (JSON) -------------------------------------------------------------


class WriteRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    value: str
    serial: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None


class ReadRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    consistency: Literal["local", "linearizable"] = "local"


class ScanQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`GET /kv/scan` query parameters."""

    prefix: str = ""
    after: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class StateQuery(msgspec.Struct, frozen=True):
    """`GET /state` query parameters, for `/openapi.json` (`kv_routes._kv_wanted` reads them:
    exactly `true` or `false`)."""

    kv: Annotated[bool, msgspec.Meta(description="`false` leaves `kv` and `kv_omitted` out")] = True


class AddLearnerRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    node_id: NodeIdField
    addr: str
    blocking: bool = True


class ChangeMembershipRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    voters: Annotated[list[NodeIdField], msgspec.Meta(min_length=1)]
    retain: bool = False


class InitRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`/admin/init` takes an empty body, `null` or `{}`."""


class WriteResponse(msgspec.Struct, frozen=True):
    previous: str | None


class ReadResponse(msgspec.Struct, frozen=True):
    value: str | None


# --- peer traffic (msgpack) ---------------------------------------------------------------


class PeerEnvelope(msgspec.Struct, frozen=True):
    """One Raft message between nodes, with what the receiver checks before it is stepped.

    For `/raft/snapshot` the message's `data` is one chunk of the snapshot: it starts at
    `chunk_offset` of `chunk_total` bytes (`chunk_total` is -1 for any other message).
    """

    cluster_id: str
    frm: int = msgspec.field(name="from")
    to: int = 0
    to_storage_id: str = ""
    msg: Message | None = None
    chunk_offset: int = 0
    chunk_total: int = -1
    from_addr: str = ""
    """The sender's public address, so that a node which does not know the sender yet (a
    pristine learner receiving its first append) can answer it."""
    snapshot_sha256: str = ""
    """For snapshot chunks: the SHA-256 of the whole state file, checked before it is used."""


class Identity(msgspec.Struct, frozen=True):
    """`GET /raft/identity`: who answers at an address (checked before add-learner)."""

    node_id: int
    storage_id: str
    cluster_id: str


envelope_encoder = msgspec.msgpack.Encoder()
envelope_decoder = msgspec.msgpack.Decoder(PeerEnvelope)
STREAM_PATH = "/raft/stream"
STREAM_CLOSE_S = 1.0
"""How long either end of a stream waits for the other's close answer: a paused peer must not
hold up a stop."""
stream_frame_decoder = msgspec.msgpack.Decoder(list[PeerEnvelope])
"""A `/raft/stream` frame: a msgpack array of envelopes, in the order they were sent."""


def stream_frame(encoded_envelopes: list[bytes]) -> bytes:
    """One `/raft/stream` frame from envelopes encoded one by one."""
    return envelope_encoder.encode([msgspec.Raw(body) for body in encoded_envelopes])


json_encoder = msgspec.json.Encoder()


# --- failures -------------------------------------------------------------------------------


ERROR_CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "a body, query or header that does not fit; the message names it"),
    "unauthorized": (401, "/raft/* or /admin/* without the bearer token"),
    "not_found": (404, "no such path"),
    "method_not_allowed": (405, "the path takes other methods (the `Allow` header names them)"),
    "already_initialized": (409, "init on a node that is part of a cluster already"),
    "learner_not_found": (409, "a new voter that is not a learner yet"),
    "learner_lagging": (409, "a new voter too far behind the leader's log"),
    "membership_change_in_progress": (409, "another membership change is not finished"),
    "serial_conflict": (409, "the write's serial was used with another request"),
    "stale_serial": (409, "the write's serial is older than the session's last"),
    "cluster_mismatch": (409, "another node id, storage or cluster than expected"),
    "body_too_large": (413, "a /kv or /admin body over max_body_bytes"),
    "not_leader": (421, "a forwarded request reached a node that does not lead"),
    "internal": (500, "a bug in the node (logged with its traceback); never for bad input"),
    "forward_failed": (502, "the one-hop forward to the leader failed"),
    "learner_unreachable": (502, "add-learner could not ask the node at `addr` who it is"),
    "no_leader": (503, "no leader is known"),
    "leader_changed": (503, "the write's entry was overwritten by a new leader"),
    "proposal_dropped": (503, "a leadership transfer is under way: nothing was proposed"),
    "too_many_connections": (503, "http_max_connections connections are open"),
    "too_many_streams": (503, "http_max_streams peer streams are open"),
    "timeout": (504, "the deadline passed"),
}
"""Every `Err.code` a node sends, with its HTTP status (README and `/openapi.json` list them;
a test checks that every code the node's source raises is here)."""


class ApiFailure(Exception):
    """A failed request, rendered as `{"Err": {code, message, indeterminate, ...details}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        indeterminate: bool = False,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.indeterminate = indeterminate
        self.headers = headers
        self.details = details

    def response(self) -> web.Response:
        err = {
            "code": self.code,
            "message": self.message,
            "indeterminate": self.indeterminate,
            **self.details,
        }
        return web.Response(
            status=self.status,
            body=json_encoder.encode({"Err": err}),
            content_type="application/json",
            headers=self.headers,
        )


def bad_request(message: str) -> ApiFailure:
    return ApiFailure(400, "bad_request", message)


def no_leader(message: str = "no leader is known; retry later") -> ApiFailure:
    return ApiFailure(503, "no_leader", message)


def proposal_dropped(message: str) -> ApiFailure:
    """503: the leader refused to propose (a leadership transfer is under way); nothing was
    proposed, so the outcome is definite and a retry (on the new leader) is safe."""
    return ApiFailure(503, "proposal_dropped", message)


def timeout(message: str, *, indeterminate: bool) -> ApiFailure:
    return ApiFailure(504, "timeout", message, indeterminate=indeterminate)


def ok(payload: object) -> web.Response:
    return web.Response(body=json_encoder.encode({"Ok": payload}), content_type="application/json")


T = TypeVar("T")


def decode_query(query: Mapping[str, str], kind: type[T]) -> T:
    """Decode query parameters into `kind` (numbers from their text); 400 naming the one
    that does not fit."""
    try:
        return msgspec.convert(dict(query), type=kind, strict=False)
    except msgspec.ValidationError as exc:
        raise bad_request(f"invalid query: {exc}") from exc


def decode_body(body: bytes, kind: type[T]) -> T:
    """Decode a JSON body into `kind`; 400 bad_request naming the field path otherwise.

    An integer field takes an integral number however it is written (`1.0`, `1e2`), as JSON
    Schema's `integer` does (`/openapi.json` says `integer`); `1.5` and `"1"` are refused.
    """
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        try:
            return msgspec.convert(_integral_floats_as_ints(msgspec.json.decode(body)), kind)
        except msgspec.ValidationError:
            raise bad_request(f"invalid request body: {exc}") from exc
        except msgspec.DecodeError as not_json:  # the typed decoder stopped before the fault
            raise bad_request(f"request body is not valid JSON: {not_json}") from exc
    except msgspec.DecodeError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from exc


def _integral_floats_as_ints(value: Any) -> Any:
    """`value` (decoded JSON) with every integral float, such as 1.0, made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value
