"""`log`: one structured line per event: type, ids, event_id; never free text.

Safe to run twice: a redelivered event logs a second line with the same `event_id`.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.registry import register
from sonoran_receiver import logs
from sonoran_receiver.config import Settings
from sonoran_receiver.publishing.message import CanonicalEvent

# Id fields sit at the top of `data` (`identIds`, `callIds`) or one object down
# (`call.callId` for EVENT_911, `dispatch.idents` for dispatches, `unit.id` for logins).
_ID_SUFFIXES = ("Id", "Ids", "Ident", "Idents")
_ID_NAMES = frozenset({"id", "ident", "idents"})
# Field names come from the sender too (models keep fields they do not name): only a name
# that looks like an identifier is logged, never a sentence someone typed as a key.
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


@register("log")
def log_event(event: CanonicalEvent, settings: Settings) -> None:
    logs.info(
        "sonorancad event",
        type=event.type,
        event_id=event.event_id,
        server=event.server,
        received_at=event.received_at,
        ids=event_ids(event.data),
    )


def event_ids(data: Any) -> dict[str, Any] | None:
    """Integer id fields by path (`callIds`, `call.callId`): numbers only, never text.

    Caller identities (`apiIds`, `communityUserId`) are strings and so stay out: they
    identify people, not CAD objects.
    """
    if not isinstance(data, dict):
        return None
    ids: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict) and _FIELD_NAME.fullmatch(name):
            ids.update(
                (f"{name}.{inner}", inner_value)
                for inner, inner_value in value.items()
                if _is_id(inner, inner_value)
            )
        elif _is_id(name, value):
            ids[name] = value
    return ids or None


def _is_id(name: str, value: Any) -> bool:
    return (
        bool(_FIELD_NAME.fullmatch(name))
        and (name in _ID_NAMES or name.endswith(_ID_SUFFIXES))
        and _is_id_value(value)
    )


def _is_id_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_id_value(item) for item in value)
    return isinstance(value, int) and not isinstance(value, bool)
