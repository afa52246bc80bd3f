"""Dispatch events: calls created, edited, closed, noted, units attached and detached,
bodycam toggled (docs/reference/push-events.md "Payloads")."""

from __future__ import annotations

from typing import Annotated, Literal, Required

from pydantic import BeforeValidator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import Bool, Event, Id, IdList, doc, fold, payload
from sonoran_receiver.events.objects import DispatchCall, Note

FAMILY = "dispatch"

_ORIGIN_IDENT = doc("Identifier ID of the unit that caused the event (CAD 3.23.0 on)", 12)


@payload
class DispatchCallData(TypedDict, total=False):
    """The whole call (an edit sends the updated call, not a difference)."""

    eventOriginIdent: Annotated[Id | None, _ORIGIN_IDENT]
    dispatch: Annotated[DispatchCall | None, doc("The dispatch call")]


class DispatchNew(Event):
    """A dispatch call is created in the CAD (not sent for calls created through the API)."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_NEW"]
    data: DispatchCallData


class DispatchEdit(Event):
    """An existing dispatch call is modified in the CAD (not sent for API edits)."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_EDIT"]
    data: DispatchCallData


@payload
class DispatchClosedData(TypedDict, total=False):
    """The calls closed; `callId` (before CAD 3.27.0) is folded into `callIds`."""

    eventOriginIdent: Annotated[Id | None, _ORIGIN_IDENT]
    callIds: Required[Annotated[IdList, doc("Calls closed", [4021])]]


class DispatchClosed(Event):
    """One or more dispatch calls are closed."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_CLOSED"]
    data: Annotated[DispatchClosedData, BeforeValidator(fold("callIds", "callId"))]


@payload
class DispatchNoteData(TypedDict, total=False):
    """The call and the note added; a note sent as text becomes `{"content": text}`."""

    callId: Required[Annotated[Id, doc("The call", 4021)]]
    note: Required[Annotated[Note, doc("The note added")]]


class DispatchNote(Event):
    """A note is added to a dispatch call."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_NOTE"]
    data: DispatchNoteData


@payload
class DispatchUnitsData(TypedDict, total=False):
    """The call and the units; a single `ident` is folded into `idents`."""

    eventOriginIdent: Annotated[Id | None, _ORIGIN_IDENT]
    callId: Required[Annotated[Id, doc("The call", 4021)]]
    idents: Required[Annotated[IdList, doc("Identifier IDs of the units", [57, 61])]]


_FOLD_IDENT = BeforeValidator(fold("idents", "ident"))


class DispatchUnitAttach(Event):
    """One or more units are attached to a dispatch call."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_UNIT_ATTACH"]
    data: Annotated[DispatchUnitsData, _FOLD_IDENT]


class DispatchUnitDetach(Event):
    """One or more units are detached from a dispatch call."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_UNIT_DETACH"]
    data: Annotated[DispatchUnitsData, _FOLD_IDENT]


@payload
class ToggleBodycamData(TypedDict, total=False):
    """The unit and the wanted bodycam state; `ident` is an integer even when sent as text."""

    ident: Required[Annotated[Id, doc("Identifier ID of the unit", 57)]]
    state: Annotated[Bool | None, doc("`true`: turn the bodycam on", True)]


class DispatchToggleBodycam(Event):
    """A bodycam on/off toggle is requested for a unit from the CAD."""

    family = FAMILY
    type: Literal["EVENT_DISPATCH_TOGGLE_BODYCAM"]
    data: ToggleBodycamData


EVENTS: tuple[type[Event], ...] = (
    DispatchNew,
    DispatchEdit,
    DispatchClosed,
    DispatchNote,
    DispatchUnitAttach,
    DispatchUnitDetach,
    DispatchToggleBodycam,
)
