"""Civilian, account-link and support events, and the 2020 legacy shapes
(docs/reference/push-events.md "Payloads", "Legacy shapes")."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal, Required

from pydantic import AfterValidator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import (
    Event,
    Integer,
    IntegerOrText,
    ListOf,
    NonEmptyText,
    Text,
    doc,
    payload,
)
from sonoran_receiver.events.objects import DispatchCall, Unit, known

FAMILY = "misc and legacy"


@payload
class CharSelectedData(TypedDict, total=False):
    """The account and the character it selected."""

    accId: Annotated[Text | None, doc("CAD account UUID", "6f1c2b9e-1111-4a2b-9c3d-000000000057")]
    id: Annotated[
        IntegerOrText | None,
        doc(
            "Character record id (integer) or DB-sync key (text, kept as text even when "
            "numeric: sync keys such as Discord ids are digits)",
            90412,
            "license:0a1b2c3d",
        ),
    ]


class CharSelected(Event):
    """A civilian user selects a character on the civilian page."""

    family = FAMILY
    type: Literal["EVENT_CHAR_SELECTED"]
    data: CharSelectedData


@payload
class CommunityLinkVerifiedData(TypedDict, total=False):
    """The in-game identifier and the CAD account it is now linked to."""

    communityUserId: Required[
        Annotated[NonEmptyText, doc("In-game identifier the link code is for", "license:0a1b2c3d")]
    ]
    accountUuid: Annotated[
        Text | None, doc("CAD account UUID", "6f1c2b9e-1111-4a2b-9c3d-000000000057")
    ]


class CommunityLinkVerified(Event):
    """A player completes the v2 community-link code flow."""

    family = FAMILY
    type: Literal["EVENT_COMMUNITY_LINK_VERIFIED"]
    data: CommunityLinkVerifiedData


def _without_log_key(value: Any) -> Any:
    """`logKey` uploads the server's logs to Sonoran support: it must never go anywhere."""
    if isinstance(value, dict):
        return {name: _without_log_key(item) for name, item in value.items() if name != "logKey"}
    if isinstance(value, list):
        return [_without_log_key(item) for item in value]
    return value


class GetLogs(Event):
    """Sonoran support asks the server to upload its logs (the top-level `logKey` is dropped)."""

    family = FAMILY
    type: Literal["GET_LOGS"]
    data: Annotated[
        Any, AfterValidator(_without_log_key), doc("Unused by the sender; kept without `logKey`")
    ] = None


class DispatchType(IntEnum):
    """The legacy `dispatch_type`: 0 CALL_NEW, 1 CALL_EDIT, 2 CALL_CLOSE, 3 CALL_NOTE,
    4 CALL_SELF_CLEAR."""

    CALL_NEW = 0
    CALL_EDIT = 1
    CALL_CLOSE = 2
    CALL_NOTE = 3
    CALL_SELF_CLEAR = 4


@payload
class LegacyDispatchCall(DispatchCall, total=False):
    """The 2020 dispatch call: full unit objects in `units` rather than `idents`."""

    units: Annotated[ListOf[Unit] | None, doc("Attached units, full objects")]


@payload
class LegacyDispatchData(TypedDict, total=False):
    """What happened to the call, and the call."""

    dispatch_type: Annotated[Integer | None, doc(known("What", DispatchType), 0)]
    dispatch: Annotated[LegacyDispatchCall | None, doc("The call")]


class LegacyDispatch(Event):
    """2020 to early 2021: any dispatch call change, told apart by `dispatch_type`."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH"]
    data: LegacyDispatchData


@payload
class UnitCallClearData(TypedDict, total=False):
    """The units cleared, full objects."""

    units: Annotated[ListOf[Unit] | None, doc("Units removed from their call")]


class UnitCallClear(Event):
    """2020: a unit was removed from a call."""

    family = FAMILY
    type: Literal["EVENT_UNIT_CALL_CLEAR"]
    data: UnitCallClearData


EVENTS: tuple[type[Event], ...] = (
    CharSelected,
    CommunityLinkVerified,
    GetLogs,
    LegacyDispatch,
    UnitCallClear,
)
