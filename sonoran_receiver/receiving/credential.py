"""The community API key, read from the raw body before anything else reads the payload.

The function is public: until the key has matched, a request must cost no more than reading
its bytes (docs/reference/contract.md "What an unauthenticated request may cost"). So the
key is taken by msgspec decoding into a type that knows one member, `key`, kept as raw
bytes: the whole body is checked to be one JSON object (NaN, trailing text and truncation
refused), every other value is skipped without being built, no model runs and nothing is
normalised.
Measured on 1 MiB hostile bodies (`bench/bench_hostile.py`): about 2 ms and no memory
beyond the body, where a full parse (pydantic-core, `json.loads`) builds 10 to 30 MiB.

A repeated `key` member: the last wins, as in the full parse that follows a match.

msgspec refuses a lone surrogate escape (`"\\ud83d"`, a text cut inside an emoji) even in
a value it skips, where the flow keeps it as U+FFFD once the key has matched
(`surrogates.py`). So a body it refuses is read once more with every `\\uD` made `\\u0`
(`\\ud83d` -> `\\u083d`, an ordinary escape of the same length; after an escaped
backslash it is text either way): two byte replacements, at the speed of a copy, that leave
the body valid JSON of the same shape; the body itself is not changed. A key spelled with
an escape from `\\uD000` to `\\uDFFF`, or holding a backslash then `uD`, in a body that
also holds a lone surrogate, is read so changed and does not match (community API keys are
letters, digits and dashes).
"""

from __future__ import annotations

import msgspec

from sonoran_receiver.receiving.answers import BadRequest, Unauthorized


class _KeyOnly(msgspec.Struct):
    key: msgspec.Raw = msgspec.Raw(b"null")


_KEY_ONLY = msgspec.json.Decoder(_KeyOnly)
_TEXT = msgspec.json.Decoder(str)


def read_key(body: bytes) -> str:
    """The `key` member of a JSON object body.

    Raises `BadRequest` when the body is not UTF-8 JSON or not an object (step 4) and
    `Unauthorized` when `key` is missing or not a string (step 5).
    """
    try:
        # msgspec skips the texts it does not build without checking their UTF-8.
        body.decode("utf-8")
        envelope = _envelope(body)
    except msgspec.ValidationError:
        # A subclass of DecodeError: valid JSON of another kind than an object.
        raise BadRequest("body must be a JSON object") from None
    except (UnicodeDecodeError, msgspec.DecodeError):
        raise BadRequest("body is not valid JSON") from None
    except RecursionError:
        # msgspec nests on the interpreter's stack; the models refuse such depth anyway.
        raise BadRequest("body is nested too deeply") from None
    try:
        return _TEXT.decode(envelope.key)
    except msgspec.ValidationError:
        raise Unauthorized() from None


def _envelope(body: bytes) -> _KeyOnly:
    try:
        return _KEY_ONLY.decode(body)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError:
        ordinary = body.replace(b"\\uD", b"\\u0").replace(b"\\ud", b"\\u0")
        if ordinary == body:
            raise
        return _KEY_ONLY.decode(ordinary)
