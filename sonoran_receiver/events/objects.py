"""The objects several events share (docs/reference/push-events.md "Shared objects"): unit,
dispatch call, call note, emergency call, custom record; and their enumerations.

Each enumeration is an `IntEnum` naming its documented values, for consumers and for the
field's description. The field itself takes any integer and keeps it (docs/reference/contract.md
"Values kept as sent"): the vendor's enumerations
drift between its own pages (its docs show record `type: 1`, the table starts at 2),
communities customise some (unit status), and others are known to be partial (section
category). Only a value of another kind (text, `true`) is refused.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Required

from pydantic import BeforeValidator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import (
    Bool,
    Id,
    IdList,
    Integer,
    ListOf,
    Number,
    Text,
    TextList,
    doc,
    payload,
)

# --- enumerations --------------------------------------------------------------------------


class UnitStatus(IntEnum):
    """UNIT_STATUS defaults. Communities can change the list: the value is an index into it."""

    UNAVAILABLE = 0
    BUSY = 1
    AVAILABLE = 2
    ENROUTE = 3
    ON_SCENE = 4
    OFFLINE = 100


class UnitPage(IntEnum):
    """UNIT_PAGE: -1 UNKNOWN (v2 API), 0 POLICE, 1 FIRE, 2 EMS, 3 DISPATCH."""

    UNKNOWN = -1
    POLICE = 0
    FIRE = 1
    EMS = 2
    DISPATCH = 3


class CallStatus(IntEnum):
    """CALL_STATUS: 0 PENDING, 1 ACTIVE, 2 CLOSED."""

    PENDING = 0
    ACTIVE = 1
    CLOSED = 2


class CallOrigin(IntEnum):
    """CALL_ORIGIN: 0 CALLER, 1 RADIO_DISPATCH, 2 OBSERVED, 3 WALK_UP (push and v1 API docs);
    the v2 API docs of 2026 read 0 as RADIO_DISPATCH and 1 as SELF_INITIATED."""

    CALLER = 0
    RADIO_DISPATCH = 1
    OBSERVED = 2
    WALK_UP = 3


class CallPriority(IntEnum):
    """Dispatch call priority: 1 (highest), 2 or 3."""

    P1 = 1
    P2 = 2
    P3 = 3


class RecordType(IntEnum):
    """Custom record base type, as the records table names them (the docs also show 1)."""

    WARRANT = 2
    BOLO = 3
    LICENSE = 4
    VEHICLE_REGISTRATION = 5
    CHARACTER = 7
    POLICE_RECORD = 8
    POLICE_REPORT = 9
    MEDICAL_RECORD = 10
    MEDICAL_REPORT = 11
    FIRE_RECORD = 12
    FIRE_REPORT = 13
    DMV_RECORD = 14
    LAW_RECORD = 15
    LAW_REPORT = 16


class SectionCategory(IntEnum):
    """Record section category defaults; others exist (the records page mentions 2 Agency)."""

    CUSTOM = 0
    FLAGS = 1
    AGENCY = 2
    SPEED = 5
    CHARGES = 6
    LINKED_RECORDS = 9


def named(values: type[IntEnum]) -> str:
    """`0 PENDING, 1 ACTIVE, ...`: the names of an enumeration's values, for descriptions."""
    return ", ".join(f"{member.value} {member.name}" for member in values)


KEPT = "any other integer is kept as sent"


def known(what: str, values: type[IntEnum]) -> str:
    """A field description naming the documented values of an enumeration field."""
    return f"{what}: {named(values)}; {KEPT}"


UNIT_STATUS = (
    "UNIT_STATUS, an index into the community's status list: any integer. Defaults: "
    + named(UnitStatus)
)

# --- unit ------------------------------------------------------------------------------------


@payload
class Coordinates(TypedDict, total=False):
    """A position in the game world (v2 Get Active Units, 2026); numbers kept as sent."""

    x: Annotated[Number | None, doc("X", -412.5)]
    y: Annotated[Number | None, doc("Y", 6170.2)]
    z: Annotated[Number | None, doc("Z", 31.0)]
    w: Annotated[Number | None, doc("Heading", 90.0)]


@payload
class UnitDetails(TypedDict, total=False):
    """The unit's `data` sub-object: callsign, name, department and identities."""

    unitNum: Annotated[Text | None, doc("Callsign", "2-ADAM-14")]
    name: Annotated[Text | None, doc("Name", "Jane Roe")]
    district: Annotated[Text | None, doc("District", "Central")]
    department: Annotated[Text | None, doc("Department", "LSPD")]
    subdivision: Annotated[Text | None, doc("Subdivision", "Patrol")]
    rank: Annotated[Text | None, doc("Rank", "Officer II")]
    group: Annotated[Text | None, doc("Unit group name; empty when none", "", "Engine 7")]
    page: Annotated[Integer | None, doc(known("UNIT_PAGE signed in to", UnitPage), 0)]
    apiIds: Annotated[
        TextList | None, doc("In-game identifiers (Steam hex, license...)", ["license:0a1b2c3d"])
    ]
    apiId1: Annotated[Text | None, doc("Pre-2021 first identifier", "steam:110000112345678")]
    apiId2: Annotated[Text | None, doc("Pre-2021 second identifier", "license:0a1b2c3d")]
    communityUserId: Annotated[
        Text | None, doc("v2 account-link identifier (2026)", "license:0a1b2c3d")
    ]
    communityUserIds: Annotated[
        TextList | None, doc("Plural form the framework also reads", ["license:0a1b2c3d"])
    ]


@payload
class Unit(TypedDict, total=False):
    """An active unit, the object the GET_ACTIVE_UNITS API returns."""

    id: Required[Annotated[Id, doc("Identifier ID: `identId`/`identIds`/`idents` elsewhere", 57)]]
    accId: Annotated[Text | None, doc("CAD account UUID", "6f1c2b9e-1111-4a2b-9c3d-000000000057")]
    status: Annotated[Integer | None, doc(UNIT_STATUS, 2)]
    isPanic: Annotated[Bool | None, doc("Panic is on", False)]
    location: Annotated[Text | None, doc("Free-text location", "Vespucci Blvd / San Andreas Ave")]
    aop: Annotated[Text | None, doc("Area of patrol", "Los Santos")]
    isDispatch: Annotated[Bool | None, doc("Signed in to the dispatch page", False)]
    coordinates: Annotated[Coordinates | None, doc("Position (2026)")]
    data: Annotated[UnitDetails | None, doc("Callsign, name, department, identities")]


# --- dispatch call -----------------------------------------------------------------------


def note_text_as_object(value: Any) -> Any:
    """A note sent as plain text (the first version of the note page, April 2021)."""
    return {"content": value} if isinstance(value, str) else value


def notes_text_as_list(value: Any) -> Any:
    """`notes: ""` (the push page) is no note; other text is one note with that content."""
    if isinstance(value, str):
        return [{"content": value}] if value else []
    return value


@payload
class CallNote(TypedDict, total=False):
    """A note on a dispatch call."""

    time: Annotated[Text | None, doc("`HH:MM:SS` (older docs) or ISO 8601 (v2)", "21:14:05")]
    label: Annotated[Text | None, doc("Who wrote it", "2-ADAM-14")]
    type: Annotated[Text | None, doc("`text`; linked records or calls use others", "text")]
    content: Annotated[Text | None, doc("The note text", "Driver detained")]


Note = Annotated[CallNote, BeforeValidator(note_text_as_object)]
NoteList = Annotated[ListOf[CallNote], BeforeValidator(notes_text_as_list)]


_ORIGIN = (
    f"CALL_ORIGIN: {named(CallOrigin)} (push and v1 API docs); the v2 API docs read "
    f"0 RADIO_DISPATCH, 1 SELF_INITIATED; {KEPT}"
)


@payload
class DispatchCall(TypedDict, total=False):
    """A dispatch call, as created in the CAD."""

    callId: Required[Annotated[Id, doc("Dispatch call id", 4021)]]
    origin: Annotated[Integer | None, doc(_ORIGIN, 0)]
    status: Annotated[Integer | None, doc(known("CALL_STATUS", CallStatus), 1)]
    priority: Annotated[Integer | None, doc(known("Priority, 1 the highest", CallPriority), 2)]
    block: Annotated[Text | None, doc("Block number", "300")]
    address: Annotated[Text | None, doc("Street", "Alta St")]
    postal: Annotated[Text | None, doc("Postal code", "7143")]
    title: Annotated[Text | None, doc("Title", "Suspicious Vehicle")]
    code: Annotated[Text | None, doc("Radio code", "10-37")]
    description: Annotated[Text | None, doc("Description", "Grey coupe circling the lot")]
    notes: Annotated[NoteList | None, doc('Notes; `""` is sent as `[]`', [])]
    idents: Annotated[IdList | None, doc("Attached units' identifier IDs", [57, 61])]
    metaData: Annotated[
        dict[str, Any] | None,
        doc("Key/values; `origin911` is the 911 call it came from", {"origin911": "318"}),
    ]
    primary: Annotated[Id | None, doc("Primary unit's identifier ID", 57)]
    trackPrimary: Annotated[Bool | None, doc("Track the primary unit", False)]
    updated: Annotated[Text | None, doc("Last change, ISO 8601", "2026-08-21T21:14:05Z")]


# --- emergency call ------------------------------------------------------------------------


@payload
class EmergencyCall(TypedDict, total=False):
    """A 911 (emergency) call."""

    callId: Required[Annotated[Id, doc("911 call id", 318)]]
    isEmergency: Annotated[Bool | None, doc("`true` EMERGENCY, `false` CIVIL", True)]
    caller: Annotated[Text | None, doc("Caller name", "Sam Poe")]
    location: Annotated[Text | None, doc("Location", "Paleto Blvd / Pyrite Ave")]
    description: Annotated[Text | None, doc("Description", "Vehicle fire, driver still inside")]
    metaData: Annotated[
        dict[str, Any] | None,
        doc(
            "Key/values (`x`, `y`, `z`, `postal`, `phone`...); also read from `data.metaData`",
            {"x": "-412.5", "y": "6170.2", "postal": "1016"},
        ),
    ]
    updated: Annotated[Text | None, doc("Last change, ISO 8601", "2026-08-21T21:14:05Z")]


# --- custom record ---------------------------------------------------------------------------


@payload
class Dependency(TypedDict, total=False):
    """Shows a section or field only when another field holds one of some values."""

    type: Annotated[Any, doc("Dependency kind")]
    fid: Annotated[Text | None, doc("The field it depends on", "status")]
    acceptableValues: Annotated[list[Any] | None, doc("Values that show it", ["1"])]


@payload
class RecordField(TypedDict, total=False):
    """One field of a record section."""

    type: Annotated[
        Text | None,
        doc("INPUT, TEXTAREA, ADDRESS, SELECT, STATUS, DATE, TIME, CHECKBOXES...", "INPUT"),
    ]
    label: Annotated[Text | None, doc("Label", "First Name")]
    value: Annotated[Any, doc("Value; text for most field types", "Sam")]
    size: Annotated[Integer | None, doc("Width, 1 to 12 columns", 6)]
    data: Annotated[dict[str, Any] | None, doc("Type-specific settings")]
    options: Annotated[list[Any] | None, doc("Choices of a SELECT or CHECKBOXES", ["Yes"])]
    isPreviewed: Annotated[Bool | None, doc("Shown in the record preview", False)]
    isSupervisor: Annotated[Bool | None, doc("Supervisor-only", False)]
    isRequired: Annotated[Bool | None, doc("Required", False)]
    unique: Annotated[Bool | None, doc("Must be unique", False)]
    readOnly: Annotated[Bool | None, doc("Read-only", False)]
    mask: Annotated[Text | None, doc("Input mask", "")]
    maskReverse: Annotated[Bool | None, doc("Mask applied right to left", False)]
    dbMap: Annotated[Bool | None, doc("Mapped to a database column", False)]
    isFromSync: Annotated[Bool | None, doc("Filled by a DB sync", False)]
    uid: Annotated[Text | None, doc("Field id; `first`, `last`, `plate` are special", "first")]
    dependency: Annotated[Dependency | None, doc("When the field is shown")]


@payload
class RecordSection(TypedDict, total=False):
    """One section of a custom record."""

    category: Annotated[
        Integer | None,
        doc(known("Section category", SectionCategory), 0),
    ]
    label: Annotated[Text | None, doc("Label", "Subject")]
    fields: Annotated[ListOf[RecordField] | None, doc("Fields")]
    searchCiv: Annotated[Bool | None, doc("Searchable by civilian", False)]
    searchVeh: Annotated[Bool | None, doc("Searchable by vehicle", False)]
    enableDuplicate: Annotated[Bool | None, doc("Section can be repeated", False)]
    dependency: Annotated[Dependency | None, doc("When the section is shown")]


@payload
class Record(TypedDict, total=False):
    """A custom record or report (the Custom Records API object)."""

    id: Annotated[Id | None, doc("Record id; missing from add events before CAD 3.21.9", 88231)]
    recordTypeId: Annotated[Id | None, doc("The community's record template id", 9)]
    syncId: Annotated[Text | None, doc("DB-sync key; empty when none", "")]
    name: Annotated[Text | None, doc("Record name", "Citation")]
    type: Annotated[Integer | None, doc(known("Record base type", RecordType), 8, 1)]
    sections: Annotated[ListOf[RecordSection] | None, doc("Sections, each with its fields")]
