"""Unit events: sign-in, sign-off, status, panic, groups (docs/reference/push-events.md
"Payloads")."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required

from pydantic import BeforeValidator, model_validator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import (
    Bool,
    Event,
    Id,
    IdList,
    Integer,
    ListOf,
    Text,
    doc,
    fold,
    payload,
)
from sonoran_receiver.events.objects import UNIT_STATUS, Unit

FAMILY = "units"

_LEGACY_UNITS = "2020 shape: full unit objects instead of identifier IDs"


@payload
class UnitLoginData(TypedDict, total=False):
    """The unit that signed in; 2020 senders listed full units in `units` instead."""

    unit: Annotated[Unit | None, doc("The unit, as active units show it")]
    units: Annotated[ListOf[Unit] | None, doc(_LEGACY_UNITS)]
    isDispatch: Annotated[Bool | None, doc("Signed in to the dispatch page", False)]
    selfDispatch: Annotated[Bool | None, doc("The unit dispatches itself", False)]


class UnitLogin(Event):
    """A unit signs in to a police, fire, EMS or dispatch page and appears in active units."""

    family = FAMILY
    type: Literal["EVENT_UNIT_LOGIN"]
    data: UnitLoginData


@payload
class UnitLogoutData(TypedDict, total=False):
    """The identifier that signed off; 2020 senders listed full units in `units` instead."""

    identId: Annotated[Id | None, doc("Identifier ID of the unit", 57)]
    units: Annotated[ListOf[Unit] | None, doc(_LEGACY_UNITS)]


class UnitLogout(Event):
    """A unit signs off the emergency page and leaves active units."""

    family = FAMILY
    type: Literal["EVENT_UNIT_LOGOUT"]
    data: UnitLogoutData


@payload
class UnitStatusData(TypedDict, total=False):
    """Either `identIds` and `status` (2021 on) or full unit objects in `units` (2020, 2026)."""

    identIds: Annotated[
        IdList | None, doc("Units whose status changed; a bare number is listed", [57, 61])
    ]
    status: Annotated[Integer | None, doc(UNIT_STATUS, 3)]
    units: Annotated[ListOf[Unit] | None, doc("Full unit objects with their new status")]


class UnitStatusChange(Event):
    """A unit's status (10-code status) changes."""

    family = FAMILY
    type: Literal["EVENT_UNIT_STATUS"]
    data: UnitStatusData


@payload
class UnitPanicData(TypedDict, total=False):
    """The units whose panic changed; `identId` (September 2021) is folded into `identIds`."""

    identIds: Required[Annotated[IdList, doc("Units whose panic changed", [57])]]
    isPanic: Annotated[Bool | None, doc("`true`: panic on (CAD 3.21.0 on)", True)]


class UnitPanic(Event):
    """A unit toggles panic on or off in the CAD."""

    family = FAMILY
    type: Literal["EVENT_UNIT_PANIC"]
    data: Annotated[UnitPanicData, BeforeValidator(fold("identIds", "identId"))]


@payload
class UnitGroupAddData(TypedDict, total=False):
    """The unit and the group it joined; ids sent beside `type` are moved here."""

    identId: Annotated[Id | None, doc("The unit added", 57)]
    identIds: Annotated[IdList | None, doc("Units added", [57, 61])]
    groupName: Annotated[Text | None, doc("The group", "Engine 7")]


_TOP_LEVEL_IDS = ("identId", "identIds")


class UnitGroupAdd(Event):
    """A unit is added to a unit group."""

    family = FAMILY
    type: Literal["EVENT_UNIT_GROUP_ADD"]
    data: UnitGroupAddData

    @model_validator(mode="before")
    @classmethod
    def _ids_beside_type(cls, value: Any) -> Any:
        # The framework reads identId/identIds at the top level, the docs in data
        # (docs/reference/push-events.md "EVENT_UNIT_GROUP_ADD"). Read both; data wins.
        if not isinstance(value, dict) or not any(name in value for name in _TOP_LEVEL_IDS):
            return value
        data = value.get("data", {})
        if not isinstance(data, dict):
            return value
        moved = {name: value[name] for name in _TOP_LEVEL_IDS if name in value}
        return {**value, "data": {**moved, **data}}


@payload
class UnitGroupRemoveData(TypedDict, total=False):
    """The unit and the group it left."""

    identId: Annotated[Id | None, doc("The unit removed", 57)]
    groupName: Annotated[Text | None, doc("The group it left", "Engine 7")]


class UnitGroupRemove(Event):
    """A unit is removed from a unit group."""

    family = FAMILY
    type: Literal["EVENT_UNIT_GROUP_REMOVE"]
    data: UnitGroupRemoveData


@payload
class UnitGroupChangeNameData(TypedDict, total=False):
    """The group's members and its old and new names."""

    identIds: Annotated[IdList | None, doc("The group's members", [57, 61])]
    oldName: Annotated[Text | None, doc("Name before", "Engine 7")]
    newName: Annotated[Text | None, doc("Name after", "Task Force 7")]


class UnitGroupChangeName(Event):
    """A unit group is renamed (CAD 3.32.6 on)."""

    family = FAMILY
    type: Literal["EVENT_UNIT_GROUP_CHANGE_NAME"]
    data: UnitGroupChangeNameData


@payload
class UnitUpdateData(TypedDict, total=False):
    """Full unit objects, as active units show them after the change."""

    units: Required[Annotated[ListOf[Unit], doc("The changed units")]]


class UnitUpdate(Event):
    """A unit's details change (undocumented; handled by the framework since 2026-07-08)."""

    family = FAMILY
    type: Literal["EVENT_UNIT_UPDATE"]
    data: UnitUpdateData


EVENTS: tuple[type[Event], ...] = (
    UnitLogin,
    UnitLogout,
    UnitStatusChange,
    UnitPanic,
    UnitGroupAdd,
    UnitGroupRemove,
    UnitGroupChangeName,
    UnitUpdate,
)
