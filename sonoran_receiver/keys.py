"""The community API keys a request may carry, and the constant-time check against them.

Keys are compared as the vendor's receiver compares them, upper-cased on both sides
(docs/reference/contract.md "Step 5: key"), and as its Lua `string.upper` does in the C locale:
ASCII letters only. So `straße` never matches `STRASSE`, nor a dotless i an `I`, though Python's
`str.upper` folds both.

The key file (`SONORAN_API_KEYS_FILE`, a Secret Manager volume) is re-read when its mtime or
size changes, and at least every `RELOAD_PERIOD_S` whatever they say: a new secret version of
the same length can show with the same mtime. Both checks run on the request path,
the re-read under a lock, so it happens once per change or period, never once per request,
and with no thread of its own (Cloud Run gives an instance CPU only while it serves requests).

A new version that cannot be read, or holds no key, does not replace the keys loaded before (a
file mid-rotation must not lock every sender out); an ERROR line says so at once and again
every `REPORT_PERIOD_S` while it lasts and requests come in. No line ever holds a key.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sonoran_receiver import logs

RELOAD_PERIOD_S = 30.0
REPORT_PERIOD_S = 60.0

_UNREADABLE = "api key file unreadable, keeping the keys loaded before"
_NO_KEY = "api key file holds no key, keeping the keys loaded before"

# Notepad and other Windows editors start a UTF-8 file with a byte order mark, and a key
# copied from such a file carries it; `str.strip` does not count U+FEFF as white space.
_BYTE_ORDER_MARK = "\ufeff"


# A key this short is no secret worth guarding, and searching payloads for it would cut
# ordinary words out of event text: shorter keys are not looked for (`found_in`).
SEARCHED_KEY_BYTES = 8


def _fold(key: str) -> bytes:
    # `bytes.upper` changes a-z only; surrogatepass so a lone surrogate (JSON allows one)
    # is a mismatch, not an error.
    return key.encode("utf-8", "surrogatepass").upper()


def split_keys(text: str, separators: str = ",\n") -> tuple[str, ...]:
    """Keys from a comma- or line-separated text; blanks, surrounding spaces and a byte order
    mark at the start of a key dropped."""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    keys = (_clean(key) for key in text.split(separators[0]))
    return tuple(key for key in keys if key)


def _clean(key: str) -> str:
    return key.strip().removeprefix(_BYTE_ORDER_MARK).strip()


def read_key_file(path: Path) -> tuple[str, ...]:
    return split_keys(path.read_text(encoding="utf-8"))


class KeyRing:
    """Keys from `SONORAN_API_KEYS` plus those in `SONORAN_API_KEYS_FILE`.

    `reload_period_s` and `report_period_s` exist for tests; the service uses the defaults.
    """

    def __init__(
        self,
        keys: Iterable[str] = (),
        key_file: Path | None = None,
        *,
        reload_period_s: float = RELOAD_PERIOD_S,
        report_period_s: float = REPORT_PERIOD_S,
    ) -> None:
        self._fixed = tuple(_fold(key) for key in keys)
        self._file = key_file
        self._reload_period_s = reload_period_s
        self._report_period_s = report_period_s
        self._lock = threading.Lock()
        self._from_file: tuple[bytes, ...] = ()
        self._stamp: tuple[int, int] | None = None
        self._next_read = 0.0
        self._reported: tuple[str, float] | None = None
        """The problem last logged and when (monotonic), until the file reads well again."""
        if key_file is not None:
            self._refresh()

    def matches(self, candidate: str) -> bool:
        """True when the candidate equals any key, ASCII letters compared case-insensitively.

        Every key is compared, whatever matched before, so the time taken does not tell
        which key (or whether an early one) matched.
        """
        if self._file is not None:
            self._refresh()
        given = _fold(candidate)
        matched = False
        for key in self._fixed + self._from_file:
            matched |= hmac.compare_digest(given, key)
        return matched

    def found_in(self, text: str) -> tuple[str, ...]:
        """The keys (as compared: folded) that occur anywhere in `text`.

        For payloads of a sender that already proved the key: a body that also carries the
        key inside `data` must not store it (docs/reference/contract.md "Values kept as sent").
        Not constant-time, and need not be: the caller is authenticated.
        """
        folded = _fold(text)
        return tuple(
            key.decode("utf-8", "surrogatepass")
            for key in self._fixed + self._from_file
            if len(key) >= SEARCHED_KEY_BYTES and key in folded
        )

    def _refresh(self) -> None:
        assert self._file is not None
        if not self._due(_stamp(self._file)):
            return
        with self._lock:
            # Again under the lock: requests that waited for another's re-read skip their own.
            stamp = _stamp(self._file)
            if not self._due(stamp):
                return
            now = time.monotonic()
            self._stamp, self._next_read = stamp, now + self._reload_period_s
            self._load(self._file, now)

    def _due(self, stamp: tuple[int, int] | None) -> bool:
        return stamp != self._stamp or time.monotonic() >= self._next_read

    def _load(self, path: Path, now: float) -> None:
        try:
            keys = tuple(_fold(key) for key in read_key_file(path))
        except (OSError, UnicodeDecodeError) as unreadable:
            self._keep(_UNREADABLE, now, error=type(unreadable).__name__)
            return
        if not keys:
            self._keep(_NO_KEY, now)
            return
        # Said when the keys change or come back, not every period.
        news = keys != self._from_file or self._reported is not None
        self._from_file, self._reported = keys, None
        if news:
            logs.info("api keys loaded from file", key_count=len(keys))

    def _keep(self, problem: str, now: float, **fields: Any) -> None:
        last = self._reported
        if last is None or last[0] != problem or now - last[1] >= self._report_period_s:
            self._reported = (problem, now)
            logs.error(problem, keys_kept=len(self._from_file), **fields)


def _stamp(path: Path) -> tuple[int, int] | None:
    """(mtime, size), or None when the file cannot be seen (then the re-read says why)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size)
