"""Handlers for accepted events, run inline or by the Pub/Sub worker.

Importing this package registers the built-in handlers. To add your own, write a plain
function in a module here, decorate it with `@register("name")`, import the module below,
and name it in `SONORAN_HANDLERS`.
"""

from handlers import log
from handlers.registry import HandlerPlan, build_plan, register

__all__ = ["HandlerPlan", "build_plan", "log", "register"]
