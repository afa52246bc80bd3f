"""Event models: one validation of the raw request bytes gives the canonical event.

The flow depends on this interface only: `parse_event(body)` returns an object with the
`key` (a `SecretStr`), the canonical `type` and `canonical_data()`; `problems(error)` turns
a `ValidationError` into field paths and messages without input values.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from sonoran_receiver.events.types import canonical_type, is_known

__all__ = ["ReceivedEvent", "is_known", "parse_event", "problems"]


class ReceivedEvent(Protocol):
    @property
    def key(self) -> SecretStr: ...

    @property
    def type(self) -> str: ...

    def canonical_data(self) -> Any: ...


class Envelope(BaseModel):
    """`{"key", "type", "data"}`, the body every push event arrives in."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)

    key: Annotated[SecretStr, Strict()] = Field(exclude=True)
    type: Annotated[str, Strict()]
    data: Any = None

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, value: str) -> str:
        return canonical_type(value)

    def canonical_data(self) -> Any:
        return self.data


_EVENT = TypeAdapter(Envelope)


def parse_event(body: bytes) -> ReceivedEvent:
    """Validate the raw bytes in one pass (pydantic-core's parser, no `json.loads`)."""
    return _EVENT.validate_json(body)


def problems(error: ValidationError) -> list[dict[str, str]]:
    """Field paths and messages only: inputs and URLs stay out of the answer."""
    return [
        {"loc": ".".join(str(part) for part in detail["loc"]), "msg": detail["msg"]}
        for detail in error.errors(include_input=False, include_url=False, include_context=False)
    ]
