"""The handler registry: plain functions, registered by name, selected per event type.

The same registry serves the HTTP function (route `inline`) and the Pub/Sub worker.
`SONORAN_HANDLERS` (`TYPE=A+B`, `*`, default `*=log`) says which handlers run for which type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sonoran_receiver import logs
from sonoran_receiver.config import Settings
from sonoran_receiver.errors import ConfigError
from sonoran_receiver.events.types import UNKNOWN, is_known
from sonoran_receiver.message import CanonicalEvent
from sonoran_receiver.type_table import TypeTable

HandlerFunc = Callable[[CanonicalEvent, Settings], None]


@dataclass(frozen=True)
class Handler:
    name: str
    func: HandlerFunc
    requires: tuple[str, ...]
    """Settings (by variable name) the handler cannot run without."""


_REGISTRY: dict[str, Handler] = {}


def register(name: str, *, requires: tuple[str, ...] = ()) -> Callable[[HandlerFunc], HandlerFunc]:
    """Record a handler under `name` and return the function unchanged."""
    if not name.isidentifier() or name != name.lower():
        raise ValueError(f"handler names are lower-case identifiers, not {name!r}")
    unknown = [variable for variable in requires if variable not in _SETTING_NAMES]
    if unknown:
        raise ValueError(f"handler {name!r} requires unknown settings {unknown}")

    def record(func: HandlerFunc) -> HandlerFunc:
        if name in _REGISTRY:
            raise ValueError(f"handler {name!r} is registered twice")
        _REGISTRY[name] = Handler(name=name, func=func, requires=requires)
        return func

    return record


def registered() -> Mapping[str, Handler]:
    return dict(_REGISTRY)


_SETTING_NAMES = {field.alias: name for name, field in Settings.model_fields.items()}


@dataclass(frozen=True)
class HandlerPlan:
    """Which handlers run for which type, resolved and checked once at start."""

    table: TypeTable
    handlers: Mapping[str, Handler]
    settings: Settings

    def for_type(self, event_type: str) -> tuple[Handler, ...]:
        names = self.table.lookup(event_type if is_known(event_type) else UNKNOWN)
        return tuple(self.handlers[name] for name in names)

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
                # The exception's text may hold a webhook URL or event text: log its class only.
                logs.error(
                    "handler failed",
                    handler=handler.name,
                    type=event.type,
                    dedupe_key=event.dedupe_key,
                    error=type(failure).__name__,
                )
        return failed


def build_plan(settings: Settings) -> HandlerPlan:
    """Resolve `SONORAN_HANDLERS`; raise ConfigError for an unknown or unconfigured handler."""
    selected: dict[str, Handler] = {}
    for names in settings.handlers.entries.values():
        for name in names:
            if name not in _REGISTRY:
                raise ConfigError(
                    "SONORAN_HANDLERS",
                    f"no handler named {name!r} (built in: {', '.join(sorted(_REGISTRY))})",
                )
            handler = _REGISTRY[name]
            for variable in handler.requires:
                if getattr(settings, _SETTING_NAMES[variable]) is None:
                    raise ConfigError(variable, f"needed by the {name!r} handler")
            selected[name] = handler
    return HandlerPlan(table=settings.handlers, handlers=selected, settings=settings)
