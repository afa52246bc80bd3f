"""Event models: one validation of the raw request bytes gives the canonical event.

The flow depends on this interface only: `parse_event(body)` returns an object with the
`key` (a `SecretStr`), the canonical `type` and `canonical_data()`; `problems(error)` turns
a `ValidationError` into field paths and messages without input values. The worker uses
`validate_canonical(type, data)` to check a published event with the same models.

One list of models, one per canonical type (`types.CANONICAL_TYPES`), discriminated on the
type two ways, both built once at import:

- `_EXACT`: the fast path for bodies as the CAD sends them (a canonical type name, `data` an
  object). The tag is looked up in the raw JSON, so no Python runs before the models.
- `_ANY`: every other body. The envelope is normalised first (the type stripped, upper-cased
  and mapped from legacy names, `data` as a one-element array unwrapped), then a callable
  discriminator picks the model; unknown types become `UnknownEvent`.

What `_EXACT` accepts, `_ANY` gives the same result for; `_EXACT` refusing a body only means
it goes the general way, so every error a sender sees comes from `_ANY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Protocol, Union

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
    (half the doc pages show `[ {...} ]`; docs/reference/push-events.md "Envelope").
    Other arrays are left for the model to refuse; an unknown type's data is kept whole."""
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


def _exact_adapter() -> TypeAdapter[Event]:
    union: Any = Union[tuple(MODELS.values())]  # noqa: UP007 (a runtime tuple of classes)
    return TypeAdapter(Annotated[union, Discriminator("type")], config=_CONFIG)


def _any_adapter() -> TypeAdapter[Event]:
    members = [Annotated[model, Tag(name)] for name, model in MODELS.items()]
    members.append(Annotated[UnknownEvent, Tag(UNKNOWN)])
    union: Any = Union[tuple(members)]  # noqa: UP007
    # One conversion to Python objects, by the envelope validator; the discriminator then
    # reads the already normalised type.
    return TypeAdapter(
        Annotated[Annotated[union, Discriminator(_tag)], BeforeValidator(_envelope)],
        config=_CONFIG,
    )


_EXACT = _exact_adapter()
_ANY = _any_adapter()


def parse_event(body: bytes) -> Event:
    """Validate the raw bytes with pydantic-core's JSON parser (no `json.loads`).

    Raises `ValidationError` (inputs hidden) when the body is not an event of its type.
    """
    try:
        return _EXACT.validate_json(body)
    except ValidationError:
        return _ANY.validate_json(body)


# The worker has no key and needs none: the envelope gets one that nothing compares.
_NO_KEY = ""


def validate_canonical(event_type: str, data: Any) -> tuple[str, Any]:
    """Check a published (or any) type and data with the same models as the HTTP flow.

    Returns the canonical type and data; canonical data gives itself back. Raises
    `ValidationError` (inputs hidden) when the data does not fit the type's model.
    """
    envelope = {"key": _NO_KEY, "type": event_type, "data": data}
    # The adapters of `parse_event`, in its order: where the exact shape passes, the
    # envelope's unwrapping must not run either (`GET_LOGS` keeps any `data`, a
    # one-object array included), or published data would change when read again.
    try:
        event = _EXACT.validate_python(envelope)
    except ValidationError:
        event = _ANY.validate_python(envelope)
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
