"""Structured log lines in the shape Cloud Logging reads from stdout.

One JSON object per line: `severity`, `message`, then our own fields. Callers pass only
values we chose (type, status, ids, durations): never the request body, never the key.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

# gunicorn runs requests on threads; one lock keeps lines whole.
_write_lock = threading.Lock()
# Made once: `json.dumps` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str, separators=(",", ":"))


def emit(severity: str, message: str, **fields: Any) -> None:
    """Write one log line; a logging failure never breaks the request."""
    record: dict[str, Any] = {"severity": severity, "message": message}
    record.update({name: value for name, value in fields.items() if value is not None})
    try:
        line = _ENCODER.encode(record)
        with _write_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except (OSError, ValueError):
        # OWASP logging guidance: the application goes on when its log cannot be written.
        return


def debug(message: str, **fields: Any) -> None:
    emit("DEBUG", message, **fields)


def info(message: str, **fields: Any) -> None:
    emit("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    emit("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    emit("ERROR", message, **fields)
