"""Snapshot files: `snapshots/snap-<term>-<index>.bin`, one self-checking file per snapshot.

Layout: magic, u32 length of the msgpack `SnapshotMeta`, the meta, the state-machine bytes,
then a crc32 of everything before it. Files are written with temp + fsync + rename + directory
fsync, so a crash leaves either no file or a whole one; the crc catches what the disk mangles
later. Which file is current is recorded in sqlite, never guessed from the directory.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import msgspec

from raftkv.core.types import SnapshotMeta

from .durable_files import TEMP_SUFFIX, write_file_durably
from .errors import DamagedStorage, StorageError

MAGIC = b"RKVSNAP1"
_LENGTH = struct.Struct(">I")
_FILE_NAME = re.compile(r"snap-(\d+)-(\d+)(?:\.\d+)?\.bin")
_meta_encoder = msgspec.msgpack.Encoder()
_meta_decoder = msgspec.msgpack.Decoder(SnapshotMeta)


def snapshot_file_name(meta: SnapshotMeta, generation: int = 0) -> str:
    """`snap-<term>-<index>.bin`; a later file of the same (term, index) gets `.<generation>`
    before `.bin`, so that writing it never overwrites the file sqlite still names."""
    suffix = f".{generation}" if generation else ""
    return f"snap-{meta.last_term}-{meta.last_index}{suffix}.bin"


def is_snapshot_file(name: str) -> bool:
    """Whether `name` is a snapshot file's name (temp files are not)."""
    return _FILE_NAME.fullmatch(name) is not None


def encode_snapshot(meta: SnapshotMeta, data: bytes) -> bytes:
    meta_bytes = _meta_encoder.encode(meta)
    body = b"".join((MAGIC, _LENGTH.pack(len(meta_bytes)), meta_bytes, data))
    return body + _LENGTH.pack(zlib.crc32(body))


def decode_snapshot(raw: bytes, path: Path) -> tuple[SnapshotMeta, bytes]:
    """Split a snapshot file into meta and data; `StorageError` if it is not whole."""
    header = len(MAGIC) + _LENGTH.size
    if len(raw) < header + _LENGTH.size or not raw.startswith(MAGIC):
        raise StorageError(f"snapshot file {path} is truncated or not a snapshot")
    body, (crc,) = raw[: -_LENGTH.size], _LENGTH.unpack(raw[-_LENGTH.size :])
    if zlib.crc32(body) != crc:
        raise StorageError(f"snapshot file {path} is corrupt (checksum mismatch)")
    (meta_length,) = _LENGTH.unpack_from(body, len(MAGIC))
    try:
        meta = _meta_decoder.decode(body[header : header + meta_length])
    except msgspec.DecodeError as exc:
        raise StorageError(f"snapshot file {path} has unreadable metadata: {exc}") from exc
    return meta, body[header + meta_length :]


class SnapshotDirectory:
    """The `snapshots/` directory of a data directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, meta: SnapshotMeta, data: bytes, name: str) -> Path:
        """Write the snapshot durably under its final name; returns the path."""
        path = self.directory / name
        write_file_durably(path, encode_snapshot(meta, data))
        return path

    def read(self, meta: SnapshotMeta, name: str) -> bytes:
        """The state-machine bytes of the snapshot that `meta` and `name` (from sqlite) name."""
        path = self.directory / name
        data_dir = self.directory.parent
        recorded = f"the snapshot through {meta.last_term}/{meta.last_index} that the log records"
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise DamagedStorage(path, f"is missing ({recorded})", data_dir) from exc
        except OSError as exc:
            raise StorageError(f"cannot read snapshot file {path}: {exc.strerror}") from exc
        try:
            stored_meta, data = decode_snapshot(raw, path)
        except StorageError as exc:
            raise DamagedStorage(path, f"is unreadable ({exc})", data_dir) from exc
        if stored_meta != meta:
            held = f"{stored_meta.last_term}/{stored_meta.last_index}"
            raise DamagedStorage(path, f"holds {held}, not {recorded}", data_dir)
        return data

    def remove_all_but(self, keep: str | None) -> list[Path]:
        """Delete stray temp files and every snapshot file but `keep`; returns them.

        Safe at any time on the writer: a file is current only once sqlite names it, and
        sqlite names a file only after it is durable.
        """
        removed: list[Path] = []
        try:
            for path in self.directory.iterdir():
                stray_temp = path.name.endswith(TEMP_SUFFIX)
                old_snapshot = _FILE_NAME.fullmatch(path.name) and path.name != keep
                if stray_temp or old_snapshot:
                    path.unlink()
                    removed.append(path)
        except OSError as exc:
            raise StorageError(f"cannot clean snapshot directory {self.directory}: {exc}") from exc
        return removed
