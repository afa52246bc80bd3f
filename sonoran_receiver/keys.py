"""The community API keys a request may carry, and the constant-time check against them."""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from sonoran_receiver import logs


def _normalise(key: str) -> bytes:
    # The vendor's receiver compares `key:upper()` on both sides, and the CAD shows keys
    # in lower case (catalogue 0.3): match that, on bytes so non-ASCII cannot raise.
    return key.upper().encode("utf-8")


def split_keys(text: str, separators: str = ",\n") -> tuple[str, ...]:
    """Keys from a comma- or line-separated text, blanks and surrounding spaces dropped."""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return tuple(key.strip() for key in text.split(separators[0]) if key.strip())


def read_key_file(path: Path) -> tuple[str, ...]:
    return split_keys(path.read_text(encoding="utf-8"))


class KeyRing:
    """Keys from `SONORAN_API_KEYS` plus those in `SONORAN_API_KEYS_FILE`.

    The file is re-read when its mtime changes: a Secret Manager volume shows a new secret
    version that way, so a key rotates without a redeploy.
    """

    def __init__(self, keys: Iterable[str] = (), key_file: Path | None = None) -> None:
        self._fixed = tuple(_normalise(key) for key in keys)
        self._file = key_file
        self._lock = threading.Lock()
        self._file_stamp: tuple[int, int] | None = None
        self._from_file: tuple[bytes, ...] = ()
        self._unreadable_reported = False
        if key_file is not None:
            self._refresh()

    def matches(self, candidate: str) -> bool:
        """True when the candidate equals any key, case-insensitively.

        Every key is compared, whatever matched before, so the time taken does not tell
        which key (or whether an early one) matched.
        """
        if self._file is not None:
            self._refresh()
        given = _normalise(candidate)
        matched = False
        for key in self._fixed + self._from_file:
            matched |= hmac.compare_digest(given, key)
        return matched

    def _refresh(self) -> None:
        assert self._file is not None
        try:
            stat = os.stat(self._file)
        except OSError as missing:
            self._report_unreadable(missing)
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._file_stamp:
            return
        with self._lock:
            if stamp == self._file_stamp:
                return
            try:
                keys = read_key_file(self._file)
            except (OSError, UnicodeDecodeError) as unreadable:
                self._report_unreadable(unreadable)
                return
            self._from_file = tuple(_normalise(key) for key in keys)
            self._file_stamp = stamp
            self._unreadable_reported = False
        logs.info("api keys loaded from file", key_count=len(keys))

    def _report_unreadable(self, problem: Exception) -> None:
        # Keep the keys we had: a file mid-rotation must not lock every sender out.
        # Said once per outage, not once per request.
        if not self._unreadable_reported:
            self._unreadable_reported = True
            logs.error(
                "api key file unreadable, keeping the keys loaded before",
                error=type(problem).__name__,
            )
