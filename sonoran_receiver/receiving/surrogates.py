"""Lone UTF-16 surrogate escapes, which JSON's grammar allows and our parser refuses.

A sender that cuts a text inside an emoji (JavaScript's `substring`, then `JSON.stringify`)
writes half of a surrogate pair, `"help \\ud83d"`. RFC 8259 section 8.2 calls such a text
valid JSON whose handling is unpredictable; pydantic-core's parser refuses it, so without
this the whole event would be a `400` and lost. Each lone half becomes `\\ufffd`, the
replacement character: the event is kept, with the one character that could not be
represented marked as such. Pairs are left as they are.

Only a body whose key has matched is rewritten (the flow calls this after the key): before
the key, a request may cost no more than reading its bytes
(docs/reference/contract.md "What an unauthenticated request may cost").
"""

from __future__ import annotations

import re

_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_ANY_HALF = re.compile(rb"\\u[dD][89a-fA-F]")
# Each pattern starts with the literal `\u`, so the scan between matches runs at the
# speed of a byte search; the replacement is a constant, so no Python runs per match.
_LONE_HIGH = re.compile(_HIGH + rb"(?!" + _LOW + rb")")
# Checked after the match: the twelve bytes ending here are not a high half then this one.
_LONE_LOW = re.compile(_LOW + rb"(?<!" + _HIGH + _LOW + rb")")
_REPLACEMENT = rb"\\ufffd"
_ESCAPED_BACKSLASH = b"\\\\"
# No byte of a JSON text can be NUL (raw control characters are refused inside strings and
# are not whitespace outside them), so it can stand in for an escaped backslash meanwhile.
_STAND_IN = b"\x00"


def without_lone_surrogates(body: bytes) -> bytes:
    """`body` with every lone surrogate escape replaced; the same bytes when there is none.

    Linear in the body, with no Python per escape: escaped backslashes are set aside first
    (a run of backslashes pairs up from its start, so each one left begins an escape and
    `\\\\\\\\ud83d` stays a backslash and text), then two regular-expression passes replace
    the high halves no low half follows and the low halves no high half precedes.
    """
    if not _ANY_HALF.search(body) or _STAND_IN in body:
        return body
    body = body.replace(_ESCAPED_BACKSLASH, _STAND_IN)
    body = _LONE_HIGH.sub(_REPLACEMENT, body)
    body = _LONE_LOW.sub(_REPLACEMENT, body)
    return body.replace(_STAND_IN, _ESCAPED_BACKSLASH)
