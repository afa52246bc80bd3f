"""The `TYPE=A+B,TYPE=C` syntax shared by `SONORAN_ROUTES` and `SONORAN_HANDLERS`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sonoran_receiver.events.types import CANONICAL_TYPES, UNKNOWN, canonical_type, is_known

WILDCARD = "*"


@dataclass(frozen=True)
class TypeTable:
    """Values per event type; `*` covers every type without its own entry."""

    entries: Mapping[str, tuple[str, ...]]

    def lookup(self, event_type: str) -> tuple[str, ...]:
        """The values for an event's canonical type (types with no model use `UNKNOWN`)."""
        key = table_type(event_type)
        if key in self.entries:
            return self.entries[key]
        return self.entries.get(WILDCARD, ())


def table_type(event_type: str) -> str:
    """The entry an event's type is looked up under: its own, or `UNKNOWN` with no model."""
    return event_type if is_known(event_type) else UNKNOWN


def parse_type_table(
    text: str, *, allowed_values: Collection[str] | None = None, item: str = "value"
) -> TypeTable:
    """Parse `TYPE=A+B,...`; raise ValueError naming the bad part (no input echoed wholesale).

    Type names are normalised like event types (case, aliases), so `event_911=publish` and
    `TOGGLE_BODYCAM=drop` mean what a user expects. `allowed_values=None` accepts any
    non-empty name; the caller checks them (handler names live in the registry).
    """
    entries: dict[str, tuple[str, ...]] = {}
    for raw_entry in text.split(","):
        if not raw_entry.strip():
            continue
        name, sep, raw_values = raw_entry.partition("=")
        if not sep:
            raise ValueError(f"entry {raw_entry.strip()!r} is not TYPE={item.upper()}")
        event_type = _table_type(name)
        values = tuple(value.strip().lower() for value in raw_values.split("+"))
        if not all(values):
            raise ValueError(f"entry for {event_type} has an empty {item}")
        if len(set(values)) != len(values):
            # Twice in one entry: a route would publish twice, a handler post twice.
            raise ValueError(f"the same {item} is listed twice for {event_type}")
        if allowed_values is not None:
            for value in values:
                if value not in allowed_values:
                    raise ValueError(f"unknown {item} {value!r} for {event_type}")
        if event_type in entries:
            raise ValueError(f"{event_type} is listed twice")
        entries[event_type] = values
    return TypeTable(entries)


def _table_type(name: str) -> str:
    stripped = name.strip()
    if stripped == WILDCARD:
        return WILDCARD
    event_type = canonical_type(stripped)
    if event_type != UNKNOWN and event_type not in CANONICAL_TYPES:
        raise ValueError(f"unknown event type {stripped!r}")
    return event_type
