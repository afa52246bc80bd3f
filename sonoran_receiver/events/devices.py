"""Map and device events: street signs, tones, ERS callouts, pagers and station alerts
(docs/reference/push-events.md "Payloads")."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal, Required

from pydantic import AfterValidator, BeforeValidator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import (
    Event,
    IdList,
    Integer,
    IntegerOrText,
    ListOf,
    Number,
    Text,
    TextList,
    as_text,
    doc,
    fold,
    parse_numeric_id,
    payload,
)
from sonoran_receiver.events.objects import known

FAMILY = "map and devices"


@payload
class SignData(TypedDict, total=False):
    """The signs changed and their three lines."""

    ids: Annotated[IdList | None, doc("Sign ids from the street-sign configuration", [3, 4])]
    text1: Annotated[Text | None, doc("First line", "ACCIDENT AHEAD")]
    text2: Annotated[Text | None, doc("Second line", "LEFT LANE CLOSED")]
    text3: Annotated[Text | None, doc("Third line", "")]


@payload
class StreetSignData(TypedDict, total=False):
    """The new sign text."""

    signData: Required[Annotated[SignData, doc("Signs and text")]]


class StreetSignUpdated(Event):
    """Smart street sign text is changed from the CAD."""

    family = FAMILY
    type: Literal["EVENT_STREETSIGN_UPDATED"]
    data: StreetSignData


class ToneTargetType(IntEnum):
    """Who hears a tone: 0 all active units, 1 a call (value: call id), 2 an agency,
    3 a department (value: its name), 4 a subdivision, 5 a unit (value: identifier ID),
    6 a unit group."""

    ALL_UNITS = 0
    CALL = 1
    AGENCY = 2
    DEPARTMENT = 3
    SUBDIVISION = 4
    UNIT = 5
    UNIT_GROUP = 6


@payload
class ToneTarget(TypedDict, total=False):
    """One target of a tone."""

    type: Required[Annotated[Integer, doc(known("Target", ToneTargetType), 1)]]
    value: Annotated[
        IntegerOrText | None, doc("Call id, unit id or a name, by `type`", 4021, "LSFD")
    ]
    label: Annotated[Text | None, doc("Label shown", "Call 4021")]


def _id_value_as_int(target: ToneTarget) -> ToneTarget:
    # The value of a call or unit target is an id: a numeric string is its integer.
    if target["type"] in (ToneTargetType.CALL, ToneTargetType.UNIT) and "value" in target:
        target["value"] = parse_numeric_id(target["value"])
    return target


@payload
class ToneData(TypedDict, total=False):
    """The tone's audio and who hears it."""

    url: Annotated[
        Text | None, doc("Audio URL", "https://example.invalid/tones/structure-fire.mp3")
    ]
    playTonesTo: Annotated[
        ListOf[Annotated[ToneTarget, AfterValidator(_id_value_as_int)]] | None,
        doc("Targets", [{"type": 1, "value": 4021, "label": "Call 4021"}]),
    ]


class Tone(Event):
    """A tone is played from the tone board."""

    family = FAMILY
    type: Literal["EVENT_TONE"]
    data: ToneData


@payload
class CalloutLocation(TypedDict, total=False):
    """A callout location; Z must be computed in game."""

    x: Annotated[Number | None, doc("X", 231.4)]
    y: Annotated[Number | None, doc("Y", 214.9)]
    z: Annotated[Number | None, doc("Z", 0.0)]


@payload
class Callout(TypedDict, total=False):
    """The callout: the docs' flat fields, or the ERS resource's own object under `data`.

    Both nestings arrive (docs/reference/push-events.md "EVENT_NEW_CALLOUT") and both are
    kept as sent.
    """

    id: Annotated[IntegerOrText | None, doc("Callout id", "ers_bank_robbery_02")]
    calloutLocations: Annotated[ListOf[CalloutLocation] | None, doc("Where, one location")]
    pedWeaponData: Annotated[TextList | None, doc("Weapons peds may get", ["weapon_pistol"])]
    pedActionOnNoActionFound: Annotated[
        Text | None, doc("`none`, `flee`, `attack` or `surrender`", "flee")
    ]
    pedChanceToFleeFromPlayer: Annotated[Integer | None, doc("Percent, 0 to 100", 20)]
    pedChanceToObtainWeapons: Annotated[Integer | None, doc("Percent, 0 to 100", 10)]
    pedChanceToAttackPlayer: Annotated[Integer | None, doc("Percent, 0 to 100", 5)]
    pedChanceToSurrender: Annotated[Integer | None, doc("Percent, 0 to 100", 50)]
    data: Annotated[
        dict[str, Any] | None,
        doc(
            "The ERS callout as the resource uploaded it (PascalCase: CalloutLocations, ...)",
            {"CalloutLocations": [{"X": 231.4, "Y": 214.9, "Z": 0}]},
        ),
    ]


@payload
class NewCalloutData(TypedDict, total=False):
    """The callout created."""

    callout: Required[Annotated[Callout, doc("The ERS callout")]]


class NewCallout(Event):
    """A dispatcher creates an ERS (Emergency Response Simulator) callout on the live map."""

    family = FAMILY
    type: Literal["EVENT_NEW_CALLOUT"]
    data: NewCalloutData


@payload
class PagerData(TypedDict, total=False):
    """The page; `players` (first revision, 2026-04-07) is folded into `identIds`."""

    addresses: Annotated[TextList | None, doc("Pager addresses routed", ["STATION-3"])]
    identIds: Annotated[IdList | None, doc("Units paged directly", [61])]
    nature: Annotated[
        Text | None, doc("`Emergency`, `NonEmergency` or `Administrative`", "Emergency")
    ]
    body: Annotated[Text | None, doc("Page text", "Structure fire, 1200 Grove St")]


class PagerReborn(Event):
    """A page is sent to Inferno "Pager Reborn" pagers."""

    family = FAMILY
    type: Literal["EVENT_PAGER_REBORN"]
    data: Annotated[PagerData, BeforeValidator(fold("identIds", "players"))]


@payload
class StationLocation(TypedDict, total=False):
    """A station and the doors to open and close."""

    name: Annotated[Text | None, doc("Station", "Fire Station 3")]
    open: Annotated[TextList | None, doc("Doors to open", ["Bay 1"])]
    close: Annotated[TextList | None, doc("Doors to close", [])]


@payload
class StationAlertData(TypedDict, total=False):
    """Stations, message, light colours and tone; `color` (first revision) joins `colors`."""

    locations: Annotated[ListOf[StationLocation] | None, doc("Stations alerted")]
    message: Annotated[
        Text | None,
        doc("Text to speech, or base64 audio", "Engine 3, structure fire, Grove Street"),
    ]
    colors: Annotated[TextList | None, doc("Light colours", ["red"])]
    tone: Annotated[Text | None, doc("Tone name or audio URL", "Alert Tone A")]


class StationAlert(Event):
    """A station alert (doors, lights, text to speech, tone) is sent."""

    family = FAMILY
    type: Literal["EVENT_STATION_ALERT"]
    data: Annotated[StationAlertData, BeforeValidator(fold("colors", "color", marker=as_text))]


EVENTS: tuple[type[Event], ...] = (StreetSignUpdated, Tone, NewCallout, PagerReborn, StationAlert)
