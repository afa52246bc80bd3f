"""What a trusted sender's payload must lose before it is stored: a community API key and
`logKey`.

The key belongs in the envelope's `key` member only, which nothing stores. A sender that also puts
it inside `data`, the type or `?server=` (a misconfigured resource, a test event typed by hand)
would otherwise have it published, and no message may ever hold a key (docs/reference/contract.md
"Values kept as sent"). `logKey` is the credential `GET_LOGS` carries for Sonoran support's log
upload (docs/reference/push-events.md "GET_LOGS"): nothing stored may hold it, whatever the type.
"""

from __future__ import annotations

import re
from typing import Any

from sonoran_receiver.keys import KeyRing

REDACTED = "[redacted: API key]"
_LOG_KEY = "logKey"


def without_secrets(value: Any, keys: KeyRing) -> Any:
    """`value` without `logKey` members and with every configured key replaced, in names
    and texts. A payload holding neither (every real one) is returned as it is.

    The decoded texts are searched, not a JSON rendering of them: there a key holding a
    quote or a backslash is escaped, and would never be found."""
    texts: list[str] = []
    if _collect_texts(value, texts):
        value = without_log_key(value)
    # A key inside one text is found whatever the separator; one found across two texts
    # only costs a replacing walk that replaces nothing.
    found = keys.found_in("\n".join(texts))
    if not found:
        return value
    # Keys compare ASCII case-insensitively (keys.py), so they are replaced likewise.
    pattern = re.compile("|".join(re.escape(key) for key in found), re.IGNORECASE | re.ASCII)
    return _replace(value, pattern)


def _collect_texts(value: Any, texts: list[str]) -> bool:
    """Append every member name and text in `value` to `texts`; True when a member is named
    `logKey`. Depth is bounded by the JSON parser's nesting limit."""
    if isinstance(value, str):
        texts.append(value)
        return False
    log_key = False
    if isinstance(value, dict):
        texts.extend(value)
        log_key = _LOG_KEY in value
        for item in value.values():
            log_key |= _collect_texts(item, texts)
    elif isinstance(value, list):
        for item in value:
            log_key |= _collect_texts(item, texts)
    return log_key


def text_without_keys(text: str, keys: KeyRing) -> str:
    """A single text (a type as sent, a server name) with every configured key replaced."""
    return str(without_secrets(text, keys))


def without_log_key(value: Any) -> Any:
    """`value` with every `logKey` member removed. Depth is bounded by the JSON parser's
    nesting limit."""
    if isinstance(value, dict):
        return {name: without_log_key(item) for name, item in value.items() if name != _LOG_KEY}
    if isinstance(value, list):
        return [without_log_key(item) for item in value]
    return value


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
