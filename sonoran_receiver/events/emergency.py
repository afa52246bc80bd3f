"""911 events (catalogue 3.15 and 3.16): emergency calls created and removed."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required, cast

from pydantic import AfterValidator, BeforeValidator
from typing_extensions import TypedDict

from sonoran_receiver.events.base import Event, IdList, TextList, doc, fold, is_text, payload
from sonoran_receiver.events.objects import EmergencyCall

FAMILY = "911"

_IDENTITIES = ("identities", "communityUserIds")


def _metadata_inside_call(data: dict[str, Any]) -> None:
    """Catalogue 3.15: the docs put `metaData` beside `call`, the framework reads it inside.

    The canonical place is `data.call.metaData`. Sent in both places, the two objects are
    merged and the call's own keys win; `data.metaData` stays beside only when it is not an
    object (nothing to merge).
    """
    beside = data.get("metaData")
    if "metaData" not in data or not (beside is None or isinstance(beside, dict)):
        return
    del data["metaData"]
    call = data["call"]
    inside = call.get("metaData")
    if inside is None:
        call["metaData"] = beside
    elif beside:
        call["metaData"] = {**inside, **{k: v for k, v in beside.items() if k not in inside}}


def _identities_in_api_ids(data: dict[str, Any]) -> None:
    """Catalogue 3.15: the docs name the caller's identities `apiIds`; the framework (2026)
    also reads `identities` and `communityUserIds`. The canonical field is `apiIds`, their
    union in that order. Their shape is undocumented: one that is not text stays as sent."""
    present = [name for name in _IDENTITIES if name in data and is_text(data[name])]
    if not present:
        return
    identities = dict.fromkeys(data.get("apiIds") or [])
    for name in present:
        sent = data.pop(name)
        for item in sent if isinstance(sent, list) else [] if sent is None else [sent]:
            identities.setdefault(item if isinstance(item, str) else str(item))
    data["apiIds"] = list(identities)


def _fold_911(data: Event911Data) -> Event911Data:
    # After validation, on the dict it gave (where the other spellings are kept fields):
    # a `mode="before"` fold would turn the whole call into Python objects first, which
    # measured as a third of this event's validation time (bench/bench_validation.py).
    sent = cast(dict[str, Any], data)
    _metadata_inside_call(sent)
    _identities_in_api_ids(sent)
    return data


@payload
class Event911Data(TypedDict, total=False):
    """The call, and the caller's identities when the call was made in the CAD."""

    call: Required[Annotated[EmergencyCall, doc("The 911 call; its metaData is canonical")]]
    apiIds: Annotated[
        TextList | None,
        doc(
            "Caller's identifiers (CAD UI calls only): the union of `apiIds`, `identities` "
            "and `communityUserIds` as sent",
            ["license:9f8e7d6c"],
        ),
    ]
    communityUserId: Annotated[
        str | None, doc("Caller's linked account identifier (May 2026 on)", "license:9f8e7d6c")
    ]


class Event911(Event):
    """A 911 (emergency) call is created, in the CAD or through the API."""

    family = FAMILY
    type: Literal["EVENT_911"]
    data: Annotated[Event911Data, AfterValidator(_fold_911)]


@payload
class Remove911Data(TypedDict, total=False):
    """The 911 calls removed; `callId` (before CAD 3.27.0) is folded into `callIds`."""

    callIds: Required[Annotated[IdList, doc("911 calls removed", [318])]]


class Remove911(Event):
    """One or more 911 calls are removed."""

    family = FAMILY
    type: Literal["EVENT_REMOVE_911"]
    data: Annotated[Remove911Data, BeforeValidator(fold("callIds", "callId"))]


EVENTS: tuple[type[Event], ...] = (Event911, Remove911)
