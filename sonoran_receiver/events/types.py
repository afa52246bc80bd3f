"""The one list of event types: routing, handlers, the models and the schemas use it.

docs/reference/push-events.md "Event types" lists them: the 26 documented types, three known
only from code (`EVENT_UNIT_UPDATE`, `EVENT_PRINT_RECORD`, `GET_LOGS`) and two legacy shapes.
"""

from __future__ import annotations

import re
from typing import Final

CANONICAL_TYPES: Final[tuple[str, ...]] = (
    "EVENT_UNIT_LOGIN",
    "EVENT_UNIT_LOGOUT",
    "EVENT_UNIT_STATUS",
    "EVENT_UNIT_PANIC",
    "EVENT_UNIT_GROUP_ADD",
    "EVENT_UNIT_GROUP_REMOVE",
    "EVENT_UNIT_GROUP_CHANGE_NAME",
    "EVENT_UNIT_UPDATE",
    "EVENT_DISPATCH_NEW",
    "EVENT_DISPATCH_EDIT",
    "EVENT_DISPATCH_CLOSED",
    "EVENT_DISPATCH_NOTE",
    "EVENT_DISPATCH_UNIT_ATTACH",
    "EVENT_DISPATCH_UNIT_DETACH",
    "EVENT_DISPATCH_TOGGLE_BODYCAM",
    "EVENT_911",
    "EVENT_REMOVE_911",
    "EVENT_RECORD_ADD",
    "EVENT_RECORD_EDIT",
    "EVENT_RECORD_REMOVE",
    "EVENT_PRINT_RECORD",
    "EVENT_STREETSIGN_UPDATED",
    "EVENT_TONE",
    "EVENT_CHAR_SELECTED",
    "EVENT_NEW_CALLOUT",
    "EVENT_PAGER_REBORN",
    "EVENT_STATION_ALERT",
    "EVENT_COMMUNITY_LINK_VERIFIED",
    "GET_LOGS",
    "EVENT_DISPATCH",
    "EVENT_UNIT_CALL_CLEAR",
)

# Names the CAD or the framework used for the same events (docs/reference/push-events.md
# "Event types").
ALIASES: Final[dict[str, str]] = {
    "TOGGLE_BODYCAM": "EVENT_DISPATCH_TOGGLE_BODYCAM",
    "EVENT_DISPATCH_CLOSE": "EVENT_DISPATCH_CLOSED",
    "EVENT_UNIT_ATTACH": "EVENT_DISPATCH_UNIT_ATTACH",
    "EVENT_UNIT_DETACH": "EVENT_DISPATCH_UNIT_DETACH",
}

# A type name, after upper-casing, is 1 to 128 of A-Z, 0-9 and `_`
# (docs/reference/contract.md "Step 6: type"). It
# becomes a Pub/Sub attribute, a log field and a route-table key: no control characters.
TYPE_NAME: Final = re.compile(r"[A-Z0-9_]{1,128}")

# Route and handler tables name types we have no model for with this word.
UNKNOWN: Final = "UNKNOWN"


def canonical_type(raw: str) -> str:
    """Strip, upper-case (the framework does; the changelog writes some names in lower case)
    and map legacy names to their canonical one."""
    name = raw.strip().upper()
    return ALIASES.get(name, name)


def is_known(event_type: str) -> bool:
    return event_type in _KNOWN


_KNOWN: Final = frozenset(CANONICAL_TYPES)
