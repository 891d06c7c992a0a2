"""Turns a node's HTTP answer into a payload or an `ApiError`.

Two failure shapes are understood: raftkv's (`{"Err": {"code", "message", "indeterminate",
...details}}` with a 4xx/5xx status) and the reference node's (`{"Err": "text"}` with 200).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from .errors import ApiError, ApiTimeout, reference_error

__all__ = ["decode_answer"]

T = TypeVar("T")

#: Codes whose outcome is unknown when a node leaves out `indeterminate`.
_INDETERMINATE_CODES = frozenset({"timeout", "forward_failed"})
_MAX_TEXT = 200


class _Envelope(msgspec.Struct):
    """One side is present; an absent side decodes as an empty `Raw`."""

    Ok: msgspec.Raw = msgspec.Raw()
    Err: msgspec.Raw = msgspec.Raw()


_envelope_decoder = msgspec.json.Decoder(_Envelope)


def decode_answer(status: int, body: bytes, kind: type[T], *, mutating: bool) -> T:
    """The `Ok` payload of an answer as `kind`, or raise the `ApiError` it describes.

    For a request that changes nothing (`mutating=False`) every error is definite.
    """
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.DecodeError:
        envelope = None
    if envelope is not None and len(envelope.Err):
        error = _error_from_err(status, msgspec.json.decode(envelope.Err))
    elif envelope is not None and len(envelope.Ok) and status < 300:
        try:
            return msgspec.json.decode(envelope.Ok, type=kind)
        except msgspec.ValidationError as exc:
            error = ApiError(status, "bad_response", f"unexpected Ok payload: {exc}")
            error.indeterminate = True
    else:
        error = _error_without_envelope(status, body)
    if not mutating:
        error.indeterminate = False
    raise error


def _error_from_err(status: int, err: Any) -> ApiError:
    if isinstance(err, str):
        return reference_error(err)
    if isinstance(err, dict) and isinstance(err.get("code"), str):
        details = dict(err)
        code = details.pop("code")
        message = str(details.pop("message", ""))
        indeterminate = details.pop("indeterminate", code in _INDETERMINATE_CODES)
        kind = ApiTimeout if code == "timeout" else ApiError
        return kind(status, code, message, indeterminate=bool(indeterminate), details=details)
    # Some other shape (for example a serialized Rust enum): keep it readable, assume the worst.
    text = msgspec.json.encode(err).decode()[:_MAX_TEXT]
    return ApiError(status, "error", text, indeterminate=True)


def _error_without_envelope(status: int, body: bytes) -> ApiError:
    """A body that is not an envelope: a proxy's error page, or a broken node. A 5xx or a
    200 may have been applied; a 4xx was refused."""
    text = body[:_MAX_TEXT].decode("utf-8", "replace").strip() or "(empty body)"
    code = "bad_response" if status < 300 else f"http_{status}"
    return ApiError(status, code, text, indeterminate=status < 400 or status >= 500)
