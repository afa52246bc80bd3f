"""What every event model shares: the envelope, the payload configuration, and the validators
that fold the sender's variants into the one canonical shape (contract "Event types and
normalisation").

Payloads are `TypedDict`s validated by pydantic (with the same configuration, descriptions
and examples a `BaseModel` would carry), not `BaseModel`s: validation then yields the
canonical `data` as plain JSON values, with no `model_dump` pass, which measured at about
half the cost of `json.loads` of the same event (`bench/bench_validation.py`). Optional
fields that were not sent stay absent; fields the models do not name are kept as sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SecretStr,
    Strict,
    with_config,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# Every payload model: unknown fields kept as sent (the CAD adds fields over time), input
# values never in error texts (our bodies carry the API key), numbers accepted where the
# catalogue shows text (a postal or callsign sent as a number is still the same value), and
# schema titles that are the wire names.
PAYLOAD_CONFIG = ConfigDict(
    extra="allow",
    hide_input_in_errors=True,
    coerce_numbers_to_str=True,
    use_enum_values=True,
    field_title_generator=lambda name, _field: name,
)

payload = with_config(PAYLOAD_CONFIG)
"""Decorator for the `TypedDict` payload models."""


def doc(description: str, *examples: Any, **constraints: Any) -> Any:
    """`Field(description=..., examples=[...])`: the exported schema documents itself."""
    return Field(description=description, examples=list(examples) or None, **constraints)


class Event(BaseModel):
    """The envelope `{"key", "type", "data"}` every push event arrives in.

    Subclasses pin `type` with a `Literal` and type `data` with their payload model. Fields
    beside `key`, `type` and `data` are not part of the canonical event (catalogue 3.0: no
    documented event has others, except `GET_LOGS`'s `logKey`, which is dropped).
    """

    model_config = ConfigDict(
        extra="ignore",
        hide_input_in_errors=True,
        frozen=True,
        field_title_generator=lambda name, _field: name,
    )

    family: ClassVar[str] = ""
    """The family the event belongs to (units, dispatch, ...), for the README table."""

    key: Annotated[SecretStr, Strict()] = Field(exclude=True, repr=False)
    type: str
    data: Any = None

    def canonical_data(self) -> Any:
        """The canonical payload: plain JSON values, never the key."""
        return self.data


# --- shared value types ------------------------------------------------------------------

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")


ONE_VALUE = "one-value"
"""The error-location part of `OneOrList`'s single-value branch (`problems()` drops it)."""


def _listed(value: Any) -> list[Any]:
    return [value]


@dataclass(frozen=True)
class OneOrList:
    """`Annotated[list[T], OneOrList()]`: a list, or a single value read as a one-element
    list (contract: "a scalar where a list is canonical becomes a one-element list").

    A union tried left to right, so a list (what the CAD sends) costs no Python call; the
    JSON schema shows the canonical list only.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        listed = handler(source)
        if listed["type"] != "list":
            raise TypeError(f"OneOrList annotates a list type, not {source}")
        one = core_schema.chain_schema(
            [
                listed.get("items_schema", core_schema.any_schema()),
                core_schema.no_info_plain_validator_function(_listed),
            ]
        )
        return core_schema.union_schema([(listed, "list"), (one, ONE_VALUE)], mode="left_to_right")

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        listed, _ = schema["choices"][0]
        return handler(listed)


Id = Annotated[int, doc("An id; a numeric string is read as the integer.", 57)]
IdList = Annotated[list[int], OneOrList()]
TextList = Annotated[list[str], OneOrList()]


def int_key(item: Any) -> Hashable:
    """Two ids are the same when they validate to the same integer (`"57"` and `57`)."""
    if isinstance(item, str) and _INTEGER.fullmatch(item):
        return int(item)
    return item if isinstance(item, Hashable) else repr(item)


def text_key(item: Any) -> Hashable:
    """Two texts are the same when they validate to the same string (`"7"` and `7`)."""
    if isinstance(item, int | float) and not isinstance(item, bool):
        return str(item)
    return item if isinstance(item, Hashable) else repr(item)


def is_text(value: Any) -> bool:
    """Text, a number (read as text), a list of those, or `null`."""
    if isinstance(value, list):
        return all(is_text(item) for item in value)
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _anything(value: Any) -> bool:
    return True


def fold(
    into: str,
    *spellings: str,
    key: Callable[[Any], Hashable] = int_key,
    foldable: Callable[[Any], bool] = _anything,
) -> Callable[[Any], Any]:
    """A `mode="before"` validator folding other spellings of a list field into it.

    When any of `spellings` was sent (with a `foldable` value), `into` becomes the union of
    its own items and theirs, in the order sent (`into` first), without duplicates; the
    folded spellings are removed. A scalar counts as a one-element list and `null` as no
    item. Otherwise the payload is left alone (a scalar in `into` is still listed by its
    field validator).
    """

    def fold_spellings(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        present = [name for name in spellings if name in value and foldable(value[name])]
        if not present:
            return value
        folded = dict(value)
        items: list[Any] = []
        seen: set[Hashable] = set()
        for name in (into, *present):
            sent = folded.pop(name, None)
            for item in sent if isinstance(sent, list) else [] if sent is None else [sent]:
                marker = key(item)
                if marker not in seen:
                    seen.add(marker)
                    items.append(item)
        folded[into] = items
        return folded

    return fold_spellings


def parse_numeric_id(value: Any) -> Any:
    """A numeric string becomes its integer; any other value is left as it came."""
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return value
