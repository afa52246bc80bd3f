"""The handler registry: plain functions, registered by name, selected per event type.

The same registry serves the HTTP function (route `inline`) and the Pub/Sub worker.
`SONORAN_HANDLERS` (`TYPE=A+B`, `*`, default `*=log`) says which handlers run for which type;
`build_plan` resolves it once at start and refuses unknown or unconfigured handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from handlers.delivery import DeliveryFailed
from sonoran_receiver import logs
from sonoran_receiver.config import ConfigError, Settings
from sonoran_receiver.events.types import CANONICAL_TYPES, UNKNOWN, canonical_type
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.type_table import WILDCARD, TypeTable, table_type

HandlerFunc = Callable[[CanonicalEvent, Settings], None]

_HANDLERS_VARIABLE = "SONORAN_HANDLERS"


@dataclass(frozen=True)
class Handler:
    name: str
    func: HandlerFunc
    requires: tuple[str, ...]
    """Settings (by variable name) the handler cannot run without."""
    types: frozenset[str] | None
    """The canonical types (or `UNKNOWN`) it handles; None: every type."""

    def handles(self, table_type: str) -> bool:
        return self.types is None or table_type in self.types


_REGISTRY: dict[str, Handler] = {}
_SETTING_NAMES = {field.alias: name for name, field in Settings.model_fields.items()}
_TABLE_TYPES = frozenset((*CANONICAL_TYPES, UNKNOWN))


def register(
    name: str, *, requires: tuple[str, ...] = (), types: Collection[str] | None = None
) -> Callable[[HandlerFunc], HandlerFunc]:
    """Record a handler under `name` and return the function unchanged.

    `requires` names the variables it needs (the start is refused without them); `types`
    limits it to some event types, so `*=mine` runs it only for those.
    """
    if not name.isidentifier() or name != name.lower():
        raise ValueError(f"handler names are lower-case identifiers, not {name!r}")
    unknown_settings = [variable for variable in requires if variable not in _SETTING_NAMES]
    if unknown_settings:
        raise ValueError(f"handler {name!r} requires unknown settings {unknown_settings}")
    handled = None if types is None else frozenset(canonical_type(each) for each in types)
    if handled is not None and not handled <= _TABLE_TYPES:
        raise ValueError(f"handler {name!r} names unknown types {sorted(handled - _TABLE_TYPES)}")

    def record(func: HandlerFunc) -> HandlerFunc:
        if name in _REGISTRY:
            raise ValueError(f"handler {name!r} is registered twice")
        _REGISTRY[name] = Handler(name=name, func=func, requires=requires, types=handled)
        return func

    return record


def registered() -> Mapping[str, Handler]:
    return dict(_REGISTRY)


@dataclass(frozen=True)
class HandlerPlan:
    """Which handlers run for which type, resolved and checked once at start."""

    table: TypeTable
    handlers: Mapping[str, Handler]
    settings: Settings

    def for_type(self, event_type: str) -> tuple[Handler, ...]:
        key = table_type(event_type)
        # A `*` entry may name handlers limited to some types: they skip the others.
        return tuple(
            self.handlers[name]
            for name in self.table.lookup(event_type)
            if self.handlers[name].handles(key)
        )

    def run(self, event: CanonicalEvent) -> list[str]:
        """Run every selected handler; return the names of those that raised.

        One handler failing does not stop the others: each is an independent side effect.
        """
        failed: list[str] = []
        for handler in self.for_type(event.type):
            try:
                handler.func(event, self.settings)
            # Any exception: a handler's bug is reported, it never crashes the request.
            except Exception as failure:
                failed.append(handler.name)
                # The exception's text may hold a webhook URL or event text: its class, and
                # for a delivery the target's status or what kept it from answering.
                delivery = failure if isinstance(failure, DeliveryFailed) else None
                logs.error(
                    "handler failed",
                    handler=handler.name,
                    type=event.type,
                    event_id=event.event_id,
                    error=type(failure).__name__,
                    http_status=delivery.http_status if delivery else None,
                    reason=delivery.reason if delivery else None,
                )
        return failed


def build_plan(settings: Settings) -> HandlerPlan:
    """Resolve `SONORAN_HANDLERS`; raise ConfigError for a handler that cannot run as asked."""
    selected: dict[str, Handler] = {}
    for entry_type, names in settings.handlers.entries.items():
        for name in names:
            handler = _resolve(name, entry_type)
            for variable in handler.requires:
                if getattr(settings, _SETTING_NAMES[variable]) is None:
                    raise ConfigError(variable, f"needed by the {name!r} handler")
            selected[name] = handler
    return HandlerPlan(table=settings.handlers, handlers=selected, settings=settings)


def _resolve(name: str, table_type: str) -> Handler:
    handler = _REGISTRY.get(name)
    if handler is None:
        raise ConfigError(
            _HANDLERS_VARIABLE,
            f"no handler named {name!r} (registered: {', '.join(sorted(_REGISTRY))})",
        )
    if table_type != WILDCARD and not handler.handles(table_type):
        raise ConfigError(_HANDLERS_VARIABLE, f"handler {name!r} does not handle {table_type}")
    return handler
