"""911 events: emergency calls created and removed (docs/reference/push-events.md "EVENT_911")."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required, cast

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from sonoran_receiver.events.base import (
    MAX_LIST_ITEMS,
    Event,
    IdList,
    Text,
    TextList,
    doc,
    fold,
    is_text,
    items_of,
    payload,
)
from sonoran_receiver.events.objects import EmergencyCall

FAMILY = "911"

_IDENTITIES = ("identities", "communityUserIds")
_UNION = "`apiIds`, `identities` and `communityUserIds`"


def _metadata_inside_call(data: dict[str, Any]) -> None:
    """The docs put `metaData` beside `call`, the framework reads it inside
    (docs/reference/push-events.md "EVENT_911").

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
    """The docs name the caller's identities `apiIds`; the framework (2026) also reads
    `identities` and `communityUserIds`, the first of the three present.

    The canonical field is `apiIds`, their union: `apiIds`' items, then `identities`', then
    `communityUserIds`', each list in the order sent, a repeat dropped, integers as text.
    `identities` and `communityUserIds` themselves stay as sent, so a consumer reading them
    as the framework does finds what it expects. Their shape is undocumented: one that is
    not text (a list of texts and integers, or one of them) is left out of the union.

    Each list, and the union, holds at most `MAX_LIST_ITEMS` items. The union is counted
    without repeats: the canonical data validates again to itself (docs/reference/contract.md
    "After the key, every accepted event stays valid"), and there `apiIds` already holds
    every kept identity, so counting the lists together would count each twice.
    """
    present = [name for name in _IDENTITIES if name in data and is_text(data[name])]
    if not present:
        return
    sent = list(items_of(data.get("apiIds")))
    for name in present:
        items = items_of(data[name])
        if len(items) > MAX_LIST_ITEMS:
            raise _too_long(f"`{name}`", len(items), "items")
        sent += items
    # Text keys only: their hashes are randomised, so no crafted identities collide.
    union = list(dict.fromkeys(item if type(item) is str else str(item) for item in sent))
    if len(union) > MAX_LIST_ITEMS:
        raise _too_long(_UNION, len(union), "different items together")
    # Last, wherever it was sent: read again, the member stays where it is, byte for byte.
    data.pop("apiIds", None)
    data["apiIds"] = union


def _too_long(what: str, actual: int, items: str) -> PydanticCustomError:
    return PydanticCustomError(
        "too_long",
        f"{what} should hold at most {{max_length}} {items}, not {{actual_length}}",
        {"max_length": MAX_LIST_ITEMS, "actual_length": actual},
    )


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
            "and `communityUserIds`, in that order, each list in the order sent, without "
            "repeats, numbers as text",
            ["license:9f8e7d6c"],
        ),
    ]
    identities: Annotated[
        Any,
        doc(
            "The caller's identifiers as the 2026 framework also reads them: kept as sent "
            "(their texts are in `apiIds` too)",
            ["license:9f8e7d6c", "discord:112233445566778899"],
        ),
    ]
    communityUserIds: Annotated[
        Any,
        doc(
            "The caller's linked identifiers as the 2026 framework also reads them: kept "
            "as sent (their texts are in `apiIds` too)",
            ["license:9f8e7d6c"],
        ),
    ]
    communityUserId: Annotated[
        Text | None, doc("Caller's linked account identifier (May 2026 on)", "license:9f8e7d6c")
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
