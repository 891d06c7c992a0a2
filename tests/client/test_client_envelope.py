"""Decoding a node's answer: raftkv's envelope, the reference node's, and bodies that are
neither."""

from __future__ import annotations

import pytest

from raftkv.client import ApiError, ApiTimeout
from raftkv.client.envelope import decode_answer
from raftkv.client.models import ReadOk, WriteOk


def test_ok_payload_is_decoded_and_extra_fields_are_ignored() -> None:
    body = b'{"Ok": {"previous": "v1", "log_id": 7}, "extra": 1}'
    assert decode_answer(200, body, WriteOk, mutating=True) == WriteOk(previous="v1")


def test_ok_null_payload() -> None:
    assert decode_answer(200, b'{"Ok": null}', ReadOk | None, mutating=False) is None


def test_raftkv_error_keeps_code_message_outcome_and_details() -> None:
    body = (
        b'{"Err": {"code": "not_leader", "message": "ask node 2", "indeterminate": false,'
        b' "leader_id": 2, "leader_addr": "127.0.0.1:9002"}}'
    )
    with pytest.raises(ApiError) as caught:
        decode_answer(421, body, WriteOk, mutating=True)
    error = caught.value
    assert (error.status, error.code, error.message) == (421, "not_leader", "ask node 2")
    assert error.indeterminate is False
    assert error.details == {"leader_id": 2, "leader_addr": "127.0.0.1:9002"}
    assert error.retryable


def test_server_timeout_is_an_indeterminate_timeout_error() -> None:
    body = b'{"Err": {"code": "timeout", "message": "not applied in time", "indeterminate": true}}'
    with pytest.raises(TimeoutError) as caught:
        decode_answer(504, body, WriteOk, mutating=True)
    assert isinstance(caught.value, ApiTimeout)
    assert caught.value.indeterminate is True


@pytest.mark.parametrize(
    ("code", "indeterminate"),
    [("timeout", True), ("forward_failed", True), ("no_leader", False), ("bad_request", False)],
)
def test_missing_indeterminate_flag_is_inferred_from_the_code(
    code: str, indeterminate: bool
) -> None:
    body = b'{"Err": {"code": "%s", "message": "m"}}' % code.encode()
    with pytest.raises(ApiError) as caught:
        decode_answer(503, body, WriteOk, mutating=True)
    assert caught.value.indeterminate is indeterminate


def test_reference_text_error_with_200_is_an_indeterminate_error() -> None:
    with pytest.raises(ApiError) as caught:
        decode_answer(200, b'{"Err": "has to forward request to: Some(2)"}', WriteOk, mutating=True)
    error = caught.value
    assert (error.status, error.code, error.indeterminate) == (200, "error", True)
    assert error.message == "has to forward request to: Some(2)"


def test_an_error_of_a_read_is_never_indeterminate() -> None:
    with pytest.raises(ApiError) as caught:
        decode_answer(200, b'{"Err": "storage error"}', ReadOk, mutating=False)
    assert caught.value.indeterminate is False


def test_structured_error_without_code_is_kept_as_text() -> None:
    body = b'{"Err": {"APIError": {"ForwardToLeader": {"leader_id": 1}}}}'
    with pytest.raises(ApiError) as caught:
        decode_answer(200, body, WriteOk, mutating=True)
    assert caught.value.code == "error"
    assert "ForwardToLeader" in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "code", "indeterminate"),
    [
        (502, b"<html>Bad Gateway</html>", "http_502", True),
        (404, b"", "http_404", False),
        (200, b"not json", "bad_response", True),
        (200, b'{"neither": 1}', "bad_response", True),
    ],
    ids=["proxy-502", "empty-404", "garbage-200", "no-envelope-200"],
)
def test_a_body_that_is_no_envelope(
    status: int, body: bytes, code: str, indeterminate: bool
) -> None:
    with pytest.raises(ApiError) as caught:
        decode_answer(status, body, WriteOk, mutating=True)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.indeterminate is indeterminate


def test_an_ok_payload_of_the_wrong_shape_is_a_bad_response() -> None:
    with pytest.raises(ApiError) as caught:
        decode_answer(200, b'{"Ok": {"previous": 5}}', WriteOk, mutating=True)
    assert caught.value.code == "bad_response"
    assert "previous" in caught.value.message
