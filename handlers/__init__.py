"""Handlers for accepted events, run inline (route `inline`) or by the Pub/Sub worker.

Importing this package registers the built-in handlers (`log`, `discord`, `forward`). To
add your own, write a plain function `(event: CanonicalEvent, settings: Settings) -> None`
in a module here, decorate it with `@register("name")`, import the module below, and name
it in `SONORAN_HANDLERS`. A handler may run twice for the same event (Pub/Sub redelivers):
make it safe to repeat, or dedupe on `event.event_id`.
"""

from handlers import discord, forward, log
from handlers.registry import HandlerPlan, build_plan, register

__all__ = ["HandlerPlan", "build_plan", "discord", "forward", "log", "register"]
