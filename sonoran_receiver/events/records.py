"""Record events: custom records added, edited, removed, printed
(docs/reference/push-events.md "Payloads")."""

from __future__ import annotations

from typing import Annotated, Literal, Required

from typing_extensions import TypedDict

from sonoran_receiver.events.base import Event, Id, Text, doc, payload
from sonoran_receiver.events.objects import Record

FAMILY = "records"


@payload
class RecordData(TypedDict, total=False):
    """The whole record (also on removal)."""

    record: Required[Annotated[Record, doc("The record, with its sections and fields")]]


class RecordAdd(Event):
    """A custom record or report is created in the CAD (not sent for API changes)."""

    family = FAMILY
    type: Literal["EVENT_RECORD_ADD"]
    data: RecordData


class RecordEdit(Event):
    """A record is edited in the CAD (not sent for API changes)."""

    family = FAMILY
    type: Literal["EVENT_RECORD_EDIT"]
    data: RecordData


class RecordRemove(Event):
    """A record is deleted in the CAD (not sent for API changes)."""

    family = FAMILY
    type: Literal["EVENT_RECORD_REMOVE"]
    data: RecordData


@payload
class PrintRecordData(TypedDict, total=False):
    """The unit that printed and the PDF (the 2025-09 consumer read `unitId`, kept as sent)."""

    identId: Annotated[Id | None, doc("Identifier ID of the unit that printed", 57)]
    url: Annotated[Text | None, doc("The PDF", "https://example.invalid/records/88231.pdf")]


class PrintRecord(Event):
    """A user prints a record to an in-game printer (undocumented; framework recordPrinter)."""

    family = FAMILY
    type: Literal["EVENT_PRINT_RECORD"]
    data: PrintRecordData


EVENTS: tuple[type[Event], ...] = (RecordAdd, RecordEdit, RecordRemove, PrintRecord)
