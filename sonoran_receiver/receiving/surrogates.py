"""Lone UTF-16 surrogate escapes, which JSON's grammar allows and our parser refuses.

A sender that cuts a text inside an emoji (JavaScript's `substring`, then `JSON.stringify`)
writes half of a surrogate pair, `"help \\ud83d"`. RFC 8259 section 8.2 calls such a text
valid JSON whose handling is unpredictable; pydantic-core's parser refuses it, so without
this the whole event would be a `400` and lost. Each lone half becomes `\\ufffd`, the
replacement character, before anything parses the body: the event is kept, with the one
character that could not be represented marked as such. Pairs are left as they are.
"""

from __future__ import annotations

import re

# Alternatives tried left to right at each backslash: an escaped backslash is consumed
# whole (so `\\\\ud83d` stays a backslash and text), then a pair, then a lone half.
_ESCAPES = re.compile(
    rb"\\\\"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_REPLACEMENT = rb"\ufffd"


def without_lone_surrogates(body: bytes) -> bytes:
    """`body` with every lone surrogate escape replaced; the same bytes when there is none.

    Linear in the body: one scan, only when the body holds a `\\u` escape at all.
    """
    if b"\\u" not in body:
        return body
    return _ESCAPES.sub(_keep_or_replace, body)


def _keep_or_replace(match: re.Match[bytes]) -> bytes:
    found = match.group()
    # A pair is 12 bytes, an escaped backslash 2; what is left is a lone half (6 bytes).
    return _REPLACEMENT if len(found) == 6 else found
