"""Logging of the node: one line per event that matters, as text or JSON lines.

Events carry their fields in `extra={"fields": {...}}` so the JSON format can emit them as
keys and the text format as `key=value` pairs. No access log: requests are not events.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec

LOGGER_NAME = "raftkv.node"
_json = msgspec.json.Encoder()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = getattr(record, "fields", None) or {}
        pairs = "".join(f" {key}={value}" for key, value in fields.items())
        line = (
            f"{stamp}.{int(record.msecs):03d}Z {record.levelname:<5} {record.getMessage()}{pairs}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _json.encode(entry).decode()


def setup_logging(log_format: str, level: str) -> logging.Logger:
    """Configure the root handler (stderr) once; returns the node's logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp logs every request at info on its access logger; we never want that.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return logging.getLogger(LOGGER_NAME)


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})
