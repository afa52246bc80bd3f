"""Event models: one validation of the raw request bytes gives the canonical event.

The flow depends on this interface only: `parse_event(body)` returns an object with the
`key` (a `SecretStr`), the canonical `type` and `canonical_data()`; `problems(error)` turns
a `ValidationError` into field paths and messages without input values. The worker uses
`validate_canonical(type, data)` to check a published event with the same models.

One list of models, one per canonical type (`types.CANONICAL_TYPES`), used two ways, each
built on first use rather than at import (building them all took a start about 0.1 s
before its first answer; a start now builds only what its first event needs):

- the fast path, for bodies as the CAD sends them (a canonical type name, `data` an object):
  the type's own model validates the raw bytes. The type is read first by msgspec, which
  skips every other member without building it (a few microseconds for a normal event).
- `_any()`: every other body. The envelope is normalised first (the type stripped,
  upper-cased and mapped from legacy names, `data` as a one-element array unwrapped), then a
  callable discriminator picks the model; unknown types become `UnknownEvent`. Its first
  use builds every model (about 0.1 s, once per process).

What the fast path accepts, `_any()` gives the same result for; the fast path refusing a body
only means it goes the general way, so every error a sender sees comes from `_any()`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, Final, Protocol, Union

import msgspec
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    SecretStr,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
)

from sonoran_receiver.events import devices, dispatch, emergency, misc, records, units
from sonoran_receiver.events.base import ONE_VALUE, Event, doc
from sonoran_receiver.events.types import CANONICAL_TYPES, UNKNOWN, canonical_type, is_known

__all__ = [
    "FAMILIES",
    "MAX_PROBLEMS",
    "MODELS",
    "Event",
    "ReceivedEvent",
    "UnknownEvent",
    "is_known",
    "parse_event",
    "problems",
    "validate_canonical",
]


class ReceivedEvent(Protocol):
    @property
    def key(self) -> SecretStr: ...

    @property
    def type(self) -> str: ...

    def canonical_data(self) -> Any: ...


class UnknownEvent(Event):
    """A type no model knows: accepted with `data` kept whole (routed as `UNKNOWN`)."""

    family = "unknown"
    # Bounded: the type becomes a Pub/Sub attribute (values up to 1,024 bytes) and a log field.
    type: Annotated[
        str,
        StringConstraints(min_length=1, max_length=128),
        doc("The type as sent, stripped and upper-cased", "EVENT_SOMETHING_NEW"),
    ]
    data: Annotated[Any, doc("The payload as sent: any JSON value, null when absent")] = None


FAMILIES: tuple[tuple[str, tuple[type[Event], ...]], ...] = tuple(
    (module.FAMILY, module.EVENTS)
    for module in (units, dispatch, emergency, records, devices, misc)
)


def _event_type(model: type[Event]) -> str:
    (name,) = model.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
    return str(name)


def _models() -> dict[str, type[Event]]:
    by_type = {_event_type(model): model for _, events in FAMILIES for model in events}
    if set(by_type) != set(CANONICAL_TYPES):
        missing = sorted(set(CANONICAL_TYPES) ^ set(by_type))
        raise RuntimeError(f"models and CANONICAL_TYPES differ: {missing}")
    return {name: by_type[name] for name in CANONICAL_TYPES}


MODELS: Mapping[str, type[Event]] = _models()
"""The model of each canonical type, in the order of `CANONICAL_TYPES`."""

_CONFIG = ConfigDict(hide_input_in_errors=True, title="Sonoran CAD push event")


def _envelope(value: Any) -> Any:
    """The envelope made ready for the models: the type stripped, upper-cased and mapped
    from legacy names, and for known types `data` given as an array of one object unwrapped
    (half the vendor's doc pages show `[ {...} ]`;
    docs/reference/contract.md "Event types and normalisation"). Other arrays are left for
    the model to refuse; an unknown type's data is kept whole."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return value
    ready = {**value, "type": canonical_type(value["type"])}
    data = ready.get("data")
    if is_known(ready["type"]) and isinstance(data, list) and len(data) == 1:
        ready["data"] = data[0]
    return ready


def _tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str):
        return None
    return kind if is_known(kind) else UNKNOWN


@functools.cache
def _any() -> TypeAdapter[Event]:
    members = [Annotated[model, Tag(name)] for name, model in MODELS.items()]
    members.append(Annotated[UnknownEvent, Tag(UNKNOWN)])
    union: Any = Union[tuple(members)]  # noqa: UP007
    # One conversion to Python objects, by the envelope validator; the discriminator then
    # reads the already normalised type.
    return TypeAdapter(
        Annotated[Annotated[union, Discriminator(_tag)], BeforeValidator(_envelope)],
        config=_CONFIG,
    )


class _TypeOnly(msgspec.Struct):
    type: str | None = None


_TYPE_ONLY = msgspec.json.Decoder(_TypeOnly)


def _sent_type(body: bytes) -> str | None:
    """The `type` member as sent when it is a string; None for anything else."""
    try:
        return _TYPE_ONLY.decode(body).type
    # ValidationError is a DecodeError: `type` not a string, or the body not an object.
    except (msgspec.DecodeError, RecursionError):
        return None


def parse_event(body: bytes) -> Event:
    """Validate the raw bytes with pydantic-core's JSON parser (no `json.loads`).

    Raises `ValidationError` (inputs hidden) when the body is not an event of its type.
    """
    model = MODELS.get(_sent_type(body) or "")
    if model is not None:
        try:
            return model.model_validate_json(body)
        except ValidationError:
            pass
    return _any().validate_json(body)


# The worker has no key and needs none: the envelope gets one that nothing compares.
_NO_KEY = ""


def validate_canonical(event_type: str, data: Any) -> tuple[str, Any]:
    """Check a published (or any) type and data with the same models as the HTTP flow.

    Returns the canonical type and data; canonical data gives itself back. Raises
    `ValidationError` (inputs hidden) when the data does not fit the type's model.
    """
    envelope = {"key": _NO_KEY, "type": event_type, "data": data}
    # The models of `parse_event`, in its order: where the type's own model passes, the
    # envelope's unwrapping must not run either (`GET_LOGS` keeps any `data`, a
    # one-object array included), or published data would change when read again.
    model = MODELS.get(event_type)
    if model is not None:
        try:
            event: Event = model.model_validate(envelope)
            return event.type, event.canonical_data()
        except ValidationError:
            pass
    event = _any().validate_python(envelope)
    return event.type, event.canonical_data()


# Parts of pydantic's error locations that name a union member or a validator function,
# not a field the sender wrote.
_NOT_FIELDS = frozenset(
    {"int", "str", "float", "bool", "none", "list", "dict", "constrained-str", "typed-dict"}
)
_TAGS = frozenset({*CANONICAL_TYPES, UNKNOWN})
_DATA_NOT_OBJECT = "Input should be an object, or an array of exactly one object"


def _path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in _TAGS else loc)
    return ".".join(
        str(part)
        for part in parts
        if not (isinstance(part, str) and ("[" in part or part in _NOT_FIELDS))
    )


MAX_PROBLEMS: Final = 100
"""The most problems listed; a body can hold thousands of bad values, and the answer and
the quarantined message must stay small."""


def problems(error: ValidationError) -> list[dict[str, str]]:
    """Field paths (`data.call.callId`) and messages only: inputs and URLs stay out.

    A list field that also takes a single value failed as a list too: that error says more
    than the single value's, which is left out. Past `MAX_PROBLEMS`, one last problem (with
    an empty path) says how many more there were.
    """
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    more = 0
    for detail in error.errors(include_input=False, include_url=False, include_context=False):
        if ONE_VALUE in detail["loc"]:
            continue
        path = _path(detail["loc"])
        message = detail["msg"]
        if path == "data" and detail["type"] == "dict_type" and detail["loc"][0] in _TAGS:
            message = _DATA_NOT_OBJECT
        if (path, message) in seen:
            continue
        seen.add((path, message))
        if len(found) < MAX_PROBLEMS:
            found.append({"loc": path, "msg": message})
        else:
            more += 1
    if more:
        found.append({"loc": "", "msg": f"{more} more problems not listed"})
    return found
