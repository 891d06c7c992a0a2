"""Commands carried in COMMAND log entries, encoded once with msgpack."""

from __future__ import annotations

import msgspec


class Put(msgspec.Struct, frozen=True, tag="put", array_like=True):
    """Set `key` to `value` as (client_id, serial) of a client session."""

    key: str
    value: str
    client_id: str
    serial: int


Command = Put

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Command)


def encode_command(cmd: Command) -> bytes:
    return _encoder.encode(cmd)


def decode_command(data: bytes) -> Command:
    return _decoder.decode(data)
