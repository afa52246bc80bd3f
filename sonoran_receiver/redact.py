"""Removing a community API key from a trusted sender's payload before it is stored.

The key belongs in the envelope's `key` member only, which nothing stores. A sender that
also puts it inside `data` (a misconfigured resource, a test event typed by hand) would
otherwise have it published, and the contract promises no message ever holds a key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sonoran_receiver.keys import KeyRing

REDACTED = "[redacted: API key]"


def without_keys(value: Any, keys: KeyRing) -> Any:
    """`value` with every occurrence of a configured key replaced, in names and texts."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return value
    found = keys.found_in(text)
    if not found:
        return value
    # Keys compare ASCII case-insensitively (keys.py), so they are replaced likewise.
    pattern = re.compile("|".join(re.escape(key) for key in found), re.IGNORECASE | re.ASCII)
    return _replace(value, pattern)


def _replace(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, dict):
        return {
            pattern.sub(REDACTED, name): _replace(item, pattern) for name, item in value.items()
        }
    if isinstance(value, list):
        return [_replace(item, pattern) for item in value]
    return value
