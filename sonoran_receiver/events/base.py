"""What every event model shares: the envelope, the payload configuration, the value kinds,
and the validators that fold the sender's variants into the one canonical shape
(docs/reference/contract.md "Event types and normalisation").

Payloads are `TypedDict`s validated by pydantic (with the same configuration, descriptions
and examples a `BaseModel` would carry), not `BaseModel`s: validation then yields the
canonical `data` as plain JSON values, with no `model_dump` pass, which measured at about
half the cost of `json.loads` of the same event (`bench/bench_validation.py`). Optional
fields that were not sent stay absent; fields the models do not name are kept as sent.

Values are kept as sent (docs/reference/contract.md "Values kept as sent"): each field takes
one JSON kind and hands the value on in the kind it came in. Two documented rules change a
value's kind, both lossless: an id sent as a numeric string is its integer (`Id`), and an
integer sent where text belongs is its digits (`Text`). `docs/events-normalisation.md` lists
every change a value undergoes.

Normalisation is linear in the body whatever its values (docs/reference/contract.md
"Limits"): a value the sender chose is compared with others only through text (Python
randomises the hashes of strings per process; those of integers are fixed, so crafted
integers all collide in a `set`), and an id or text list holds at most `MAX_LIST_ITEMS`
items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, TypeVar

from annotated_types import MaxLen
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SecretStr,
    Strict,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

MAX_LIST_ITEMS: Final = 5_000
"""The most items an id or text list takes, all its spellings together and counted as sent
(before duplicates are dropped). Far above any real event (a unit group, the calls a
dispatcher closes at once), it bounds what one trusted body can make the models do."""

# Every payload model: unknown fields kept as sent (the CAD adds fields over time), input
# values never in error texts (our bodies carry the API key), and schema titles that are
# the wire names.
PAYLOAD_CONFIG = ConfigDict(
    extra="allow",
    hide_input_in_errors=True,
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
    beside `key`, `type` and `data` are not part of the canonical event: no documented event
    has others, except `GET_LOGS`'s `logKey`, which is dropped
    (docs/reference/push-events.md "Envelope").
    """

    # Built on first use, not at import: a start then builds only the models of the types
    # it receives (`parse_event`), not all of them before its first answer.
    model_config = ConfigDict(
        extra="ignore",
        hide_input_in_errors=True,
        frozen=True,
        field_title_generator=lambda name, _field: name,
        defer_build=True,
    )

    family: ClassVar[str] = ""
    """The family the event belongs to (units, dispatch, ...), for docs/events.md."""

    key: Annotated[SecretStr, Strict()] = Field(exclude=True, repr=False)
    type: str
    data: Any = None

    def canonical_data(self) -> Any:
        """The canonical payload: plain JSON values, never the key."""
        return self.data


# --- value kinds -------------------------------------------------------------------------


def _whole_number() -> core_schema.CoreSchema:
    # 57.0 is the JSON number 57 (JSON Schema's `integer` takes it too): it becomes 57.
    return core_schema.chain_schema(
        [core_schema.float_schema(strict=True, allow_inf_nan=False), core_schema.int_schema()]
    )


def _numeric_text() -> core_schema.CoreSchema:
    # pydantic's reading of an integer in text: spaces around, a sign, `_` between digits,
    # a `.0` fraction (" 57 ", "+57", "1_000", "57.0"); at most 4,300 digits.
    return core_schema.chain_schema([core_schema.str_schema(strict=True), core_schema.int_schema()])


def _as_text(number: core_schema.CoreSchema) -> core_schema.CoreSchema:
    # The integer's decimal digits, as sent (JSON integers have no other spelling).
    return core_schema.chain_schema([number, core_schema.str_schema(coerce_numbers_to_str=True)])


# What a `Kind` may take, each a strict pydantic-core schema.
_CHOICES: Final[dict[str, Callable[[], core_schema.CoreSchema]]] = {
    "integer": lambda: core_schema.int_schema(strict=True),
    "whole number": _whole_number,
    "numeric text": _numeric_text,
    "number": lambda: core_schema.float_schema(strict=True, allow_inf_nan=False),
    "text": lambda: core_schema.str_schema(strict=True),
    "integer as text": lambda: _as_text(core_schema.int_schema(strict=True)),
    "whole number as text": lambda: _as_text(_whole_number()),
}

# The JSON schemas a `Kind` shows: what it hands on (serialization) or takes (validation).
_JSON: Final[dict[str, dict[str, str]]] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "string": {"type": "string"},
    "numeric string": {"type": "string", "pattern": "^[+-]?[0-9]{1,4300}$"},
}


@dataclass(frozen=True)
class Kind:
    """`Annotated[int, Kind(...)]`: the JSON kinds a field takes, tried in order.

    pydantic's own `int`, `float` and `str` would change a value's kind (`true` read as
    `1`, `5` handed on as `5.0`, `"5"` read as `5`, `1e300` written out as 301 digits); a
    strict union of the kinds wanted keeps each value as it came, in pydantic-core alone (no
    Python call per value). One error names what was wanted when no kind fits. The JSON
    schema shows what the field hands on (`gives`), or for a request what it takes
    (`takes`).
    """

    choices: tuple[str, ...]
    error: str
    message: str
    gives: tuple[str, ...]
    takes: tuple[str, ...]
    min_length: int | None = None
    """Of the text choice (the other choices are never empty)."""

    def _choice(self, name: str) -> core_schema.CoreSchema:
        if name == "text" and self.min_length is not None:
            return core_schema.str_schema(strict=True, min_length=self.min_length)
        return _CHOICES[name]()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [self._choice(choice) for choice in self.choices],
            mode="left_to_right",
            custom_error_type=self.error,
            custom_error_message=self.message,
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        kinds: list[dict[str, Any]] = [
            dict(_JSON[name])
            for name in (self.takes if handler.mode == "validation" else self.gives)
        ]
        if self.min_length is not None:
            for kind in kinds:
                if kind == {"type": "string"}:
                    kind["minLength"] = self.min_length
        return kinds[0] if len(kinds) == 1 else {"anyOf": kinds}


Integer = Annotated[
    int,
    Kind(
        ("integer", "whole number"),
        "integer_kind",
        "Input should be an integer",
        gives=("integer",),
        takes=("integer",),
    ),
]
"""A JSON integer (`2.0` is read as `2`); never `true` nor text."""

Number = Annotated[
    float,
    Kind(
        ("integer", "number"),
        "number_kind",
        "Input should be a finite number",
        gives=("number",),
        takes=("number",),
    ),
]
"""Any finite JSON number, kept as sent: `90` stays an integer, `90.5` a fraction."""

_TEXT_CHOICES = ("text", "integer as text", "whole number as text")

Text = Annotated[
    str,
    Kind(
        _TEXT_CHOICES,
        "text_kind",
        "Input should be text (or an integer)",
        gives=("string",),
        takes=("string", "integer"),
    ),
]
"""Text; an integer sent where text belongs (a postal as `7143`) is its digits, `"7143"`, so
a consumer meets one kind. Another number (`1.5`), `true` or an object is refused."""

NonEmptyText = Annotated[
    str,
    Kind(
        _TEXT_CHOICES,
        "text_kind",
        "Input should be text of one character or more (or an integer)",
        gives=("string",),
        takes=("string", "integer"),
        min_length=1,
    ),
]
"""`Text` that is not empty."""

IntegerOrText = Annotated[
    int | str,
    Kind(
        ("integer", "whole number", "text"),
        "integer_or_text_kind",
        "Input should be an integer or text",
        gives=("integer", "string"),
        takes=("integer", "string"),
    ),
]
"""An integer (`57.0` is read as `57`), or text; never `true` nor a fraction."""

Bool = Annotated[bool, Strict()]
"""`true` or `false`; never `1` nor `"true"`."""

Id = Annotated[
    int,
    Kind(
        ("integer", "whole number", "numeric text"),
        "id_kind",
        "Input should be an integer id or a numeric string",
        gives=("integer",),
        takes=("integer", "numeric string"),
    ),
]
"""An id: an integer; sent as a numeric string (`"57"`) or a whole number (`57.0`), it is
that integer (the bodycam page sends `"1"`: docs/reference/push-events.md
"EVENT_DISPATCH_TOGGLE_BODYCAM")."""

KINDS_KEPT: Final = (
    "Values are kept as sent except by the rules of docs/events-normalisation.md: an id "
    'sent as a numeric string ("57") is that integer; an integer sent where text belongs '
    'is its digits (7143 becomes "7143"); a whole number sent where an integer belongs '
    "(2.0) is that integer; a single value where a list belongs is a one-element list; "
    "other spellings of a list join it without repeats. Id and text lists hold at most "
    f"{MAX_LIST_ITEMS} items."
)
"""The rules in one sentence, for the exported schemas' descriptions."""


ONE_VALUE = "one-value"
"""The error-location part of `OneOrList`'s single-value branch (`problems()` drops it)."""


def _listed(value: Any) -> list[Any]:
    return [value]


@dataclass(frozen=True)
class OneOrList:
    """`Annotated[list[T], OneOrList()]`: a list, or a single value read as a one-element
    list (docs/reference/contract.md "Event types and normalisation").

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


Item = TypeVar("Item")

ListOf = Annotated[list[Item], Field(fail_fast=True)]
"""`ListOf[T]`: a list whose validation stops at its first bad item. Its problem is enough
for a sender to see what is wrong, and a body of a million bad items then costs no more
than a good one (pydantic builds an error object for each)."""

IdList = Annotated[ListOf[Id], MaxLen(MAX_LIST_ITEMS), OneOrList()]
TextList = Annotated[ListOf[Text], MaxLen(MAX_LIST_ITEMS), OneOrList()]


# --- comparing sent values -----------------------------------------------------------------

_ID: Final = TypeAdapter(Id)
_TEXT: Final = TypeAdapter(Text)


def id_marker(item: Any) -> str | None:
    """The id `item` validates to, as text, or None when it is no id.

    Two items are the same id when they validate to the same integer (`"57"`, `57`,
    `57.0`). Hexadecimal, because writing an integer in hex takes time linear in its
    digits (decimal does not, and refuses over 4,300 digits).
    """
    if type(item) is int:  # the ids the CAD sends: no validator call (`bool` is no int here)
        return format(item, "x")
    try:
        return format(_ID.validate_python(item), "x")
    except ValidationError:
        return None


def as_text(item: Any) -> str | None:
    """The text `item` validates to where text belongs (`7` is `"7"`), or None."""
    if type(item) is str:
        return item
    if type(item) is int:  # its digits, as pydantic writes them, without a validator call
        return str(item)
    try:
        return _TEXT.validate_python(item)
    except ValidationError:
        return None


def items_of(sent: Any) -> list[Any]:
    """A list's items; a single value is one item, `null` none."""
    if isinstance(sent, list):
        return sent
    return [] if sent is None else [sent]


def union(items: Iterable[Any], marker: Callable[[Any], str | None]) -> list[Any]:
    """`items` in order without repeats: an item is dropped when an earlier one has the same
    marker. An item without a marker is kept (the model refuses it, at its place)."""
    seen: set[str] = set()
    kept: list[Any] = []
    for item in items:
        mark = marker(item)
        if mark is None or mark not in seen:
            kept.append(item)
            if mark is not None:
                seen.add(mark)
    return kept


# Exact types: JSON gives no subclasses, and `bool` (a subclass of `int`) is no text.
_TEXT_ITEM_TYPES: Final = frozenset({str, int})


def is_text(value: Any) -> bool:
    """Text or an integer (read as its digits), `null`, or a list of texts and integers."""
    if isinstance(value, list):
        return _TEXT_ITEM_TYPES.issuperset(map(type, value))
    return value is None or type(value) in _TEXT_ITEM_TYPES


def fold(
    into: str,
    *spellings: str,
    marker: Callable[[Any], str | None] = id_marker,
) -> Callable[[Any], Any]:
    """A `mode="before"` validator folding other spellings of a list field into it.

    When any of `spellings` was sent, `into` becomes the union of its own items and theirs:
    `into`'s items first, then each spelling's in the order of `spellings` (not the order
    of the body's members, which JSON leaves unordered), each list in the order sent, an
    item dropped when an earlier one is the same value. The folded spellings are removed.
    A scalar counts as a one-element list and `null` as no item. Otherwise the payload is
    left alone (a scalar in `into` is still listed by its field validator).

    More than `MAX_LIST_ITEMS` items in all are not compared: they are all handed to the
    model, whose list refuses them.
    """

    def fold_spellings(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        present = [name for name in spellings if name in value]
        if not present:
            return value
        folded = dict(value)
        sent = [item for name in (into, *present) for item in items_of(folded.pop(name, None))]
        folded[into] = sent if len(sent) > MAX_LIST_ITEMS else union(sent, marker)
        return folded

    return fold_spellings


def parse_numeric_id(value: Any) -> Any:
    """A numeric string becomes its integer (as an `Id` reads it); any other value is left
    as it came."""
    if isinstance(value, str):
        try:
            return _ID.validate_python(value)
        except ValidationError:
            return value
    return value
