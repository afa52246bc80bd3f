"""The community API key, read from the raw body before anything else reads the payload.

The function is public: until the key has matched, a request must cost no more than reading
its bytes (docs/reference/contract.md "What an unauthenticated request may cost"). So the
key is taken by
msgspec decoding into a type that knows one member, `key`, kept as raw bytes: the whole
body is checked to be one JSON object (NaN, trailing text and truncation refused), every
other value is skipped without being built, no model runs and nothing is normalised.
Measured on 1 MiB hostile bodies (`bench/bench_hostile.py`): about 2 ms and no memory
beyond the body, where a full parse (pydantic-core, `json.loads`) builds 10 to 30 MiB.

A repeated `key` member: the last wins, as in the full parse that follows a match.
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
        envelope = _KEY_ONLY.decode(body)
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
