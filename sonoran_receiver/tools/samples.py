"""One realistic request body per event type, without `key`, for `sonoran_receiver.tools.send`.

Each body follows the shape the real sender uses (docs/reference/push-events.md "Payloads"),
which is not always the documented one: `data` is an object, never the one-element array
some doc pages show, because every official consumer reads `body.data.<field>`
(docs/reference/push-events.md "Uncertainties and contradictions").
The ids tie the samples together (unit 57 "2-ADAM-14", dispatch call 4021, 911 call 318,
record 88231) so a handler sees a plausible story, not noise.

Standard library only, like the sender: it must run from a bare checkout.
"""

from __future__ import annotations

import copy
from typing import Any, Final

_UNIT_57: Final[dict[str, Any]] = {
    "id": 57,
    "accId": "6f1c2b9e-1111-4a2b-9c3d-000000000057",
    "status": 2,
    "isPanic": False,
    "location": "Vespucci Blvd / San Andreas Ave",
    "aop": "Los Santos",
    "data": {
        "apiIds": ["license:0a1b2c3d"],
        "unitNum": "2-ADAM-14",
        "name": "Jane Roe",
        "district": "Central",
        "department": "LSPD",
        "subdivision": "Patrol",
        "rank": "Officer II",
        "group": "",
        "page": 0,
    },
}

_UNIT_61: Final[dict[str, Any]] = {
    "id": 61,
    "accId": "6f1c2b9e-1111-4a2b-9c3d-000000000061",
    "status": 3,
    "isPanic": False,
    "location": "Alta St",
    "aop": "Los Santos",
    "data": {
        "apiIds": ["license:4e5f6a7b"],
        "unitNum": "2-ADAM-22",
        "name": "Sam Rivera",
        "district": "Central",
        "department": "LSPD",
        "subdivision": "Patrol",
        "rank": "Officer I",
        "group": "",
        "page": 0,
    },
}

# The dispatch call object (docs/reference/push-events.md "Dispatch call object"), as
# EVENT_DISPATCH_NEW carries it.
_CALL_4021: Final[dict[str, Any]] = {
    "callId": 4021,
    "origin": 0,
    "status": 1,
    "priority": 2,
    "block": "300",
    "address": "Alta St",
    "postal": "7143",
    "title": "Suspicious Vehicle",
    "code": "10-37",
    "description": "Grey coupe circling the lot, no plates",
    "notes": [],
    "idents": [57, 61],
    "metaData": {"origin911": "318"},
}

_RECORD_88231: Final[dict[str, Any]] = {
    "id": 88231,
    "recordTypeId": 9,
    "syncId": "",
    "name": "Citation",
    "type": 8,
    "sections": [
        {
            "category": 0,
            "label": "Subject",
            "fields": [
                {"type": "INPUT", "label": "First Name", "value": "Sam", "uid": "first"},
                {"type": "INPUT", "label": "Last Name", "value": "Poe", "uid": "last"},
            ],
        }
    ],
}

SAMPLES: Final[dict[str, dict[str, Any]]] = {
    # 3.1: the unit object under data.unit; isDispatch sits beside it, not inside.
    "EVENT_UNIT_LOGIN": {
        "type": "EVENT_UNIT_LOGIN",
        "data": {"unit": _UNIT_57, "isDispatch": False, "selfDispatch": False},
    },
    # 3.2: the doc shows data as [ { identId } ]; the framework reads data.identId.
    "EVENT_UNIT_LOGOUT": {"type": "EVENT_UNIT_LOGOUT", "data": {"identId": 57}},
    # 3.3: identIds is an array in practice (the doc's bare number breaks the framework).
    "EVENT_UNIT_STATUS": {
        "type": "EVENT_UNIT_STATUS",
        "data": {"identIds": [57, 61], "status": 3},
    },
    "EVENT_UNIT_PANIC": {"type": "EVENT_UNIT_PANIC", "data": {"identIds": [57], "isPanic": True}},
    "EVENT_UNIT_GROUP_ADD": {
        "type": "EVENT_UNIT_GROUP_ADD",
        "data": {"identId": 57, "groupName": "Engine 7"},
    },
    "EVENT_UNIT_GROUP_REMOVE": {
        "type": "EVENT_UNIT_GROUP_REMOVE",
        "data": {"identId": 57, "groupName": "Engine 7"},
    },
    "EVENT_UNIT_GROUP_CHANGE_NAME": {
        "type": "EVENT_UNIT_GROUP_CHANGE_NAME",
        "data": {"identIds": [57, 61], "oldName": "Engine 7", "newName": "Task Force 7"},
    },
    # 3.28: full unit objects, as the framework has handled them since 2026-07-08.
    "EVENT_UNIT_UPDATE": {
        "type": "EVENT_UNIT_UPDATE",
        "data": {"units": [_UNIT_57, _UNIT_61]},
    },
    # 3.8: the doc's array form is invalid JSON; the keys belong to the data object.
    "EVENT_DISPATCH_NEW": {
        "type": "EVENT_DISPATCH_NEW",
        "data": {"eventOriginIdent": 12, "dispatch": _CALL_4021},
    },
    # 3.9: an edit carries the whole updated call, not a diff.
    "EVENT_DISPATCH_EDIT": {
        "type": "EVENT_DISPATCH_EDIT",
        "data": {
            "eventOriginIdent": 12,
            "dispatch": {
                **_CALL_4021,
                "priority": 1,
                "title": "Suspicious Vehicle - occupants armed",
                "notes": [
                    {
                        "time": "21:12:40",
                        "label": "DISPATCH",
                        "type": "text",
                        "content": "Caller reports a handgun on the dashboard",
                    }
                ],
            },
        },
    },
    # 3.10: callIds since CAD 3.27.0 (a single callId before).
    "EVENT_DISPATCH_CLOSED": {
        "type": "EVENT_DISPATCH_CLOSED",
        "data": {"eventOriginIdent": 12, "callIds": [4021]},
    },
    "EVENT_DISPATCH_NOTE": {
        "type": "EVENT_DISPATCH_NOTE",
        "data": {
            "callId": 4021,
            "note": {
                "time": "21:14:05",
                "label": "2-ADAM-14",
                "type": "text",
                "content": "Driver detained",
            },
        },
    },
    "EVENT_DISPATCH_UNIT_ATTACH": {
        "type": "EVENT_DISPATCH_UNIT_ATTACH",
        "data": {"eventOriginIdent": 12, "callId": 4021, "idents": [57, 61]},
    },
    "EVENT_DISPATCH_UNIT_DETACH": {
        "type": "EVENT_DISPATCH_UNIT_DETACH",
        "data": {"eventOriginIdent": 12, "callId": 4021, "idents": [61]},
    },
    # 3.14: the example body's type string; no consumer confirms ident's type.
    "EVENT_DISPATCH_TOGGLE_BODYCAM": {
        "type": "EVENT_DISPATCH_TOGGLE_BODYCAM",
        "data": {"ident": 57, "state": True},
    },
    # 3.15: metaData inside call, where the framework reads it (the doc puts it beside).
    "EVENT_911": {
        "type": "EVENT_911",
        "data": {
            "call": {
                "callId": 318,
                "isEmergency": True,
                "caller": "Sam Poe",
                "location": "Paleto Blvd / Pyrite Ave",
                "description": "Vehicle fire, driver still inside",
                "metaData": {"x": "-412.5", "y": "6170.2", "postal": "1016"},
            },
            "apiIds": ["license:9f8e7d6c"],
            "communityUserId": "license:9f8e7d6c",
        },
    },
    "EVENT_REMOVE_911": {"type": "EVENT_REMOVE_911", "data": {"callIds": [318]}},
    "EVENT_RECORD_ADD": {"type": "EVENT_RECORD_ADD", "data": {"record": _RECORD_88231}},
    "EVENT_RECORD_EDIT": {
        "type": "EVENT_RECORD_EDIT",
        "data": {"record": {**_RECORD_88231, "name": "Citation (amended)"}},
    },
    # 3.19: the full record is sent even for a removal.
    "EVENT_RECORD_REMOVE": {"type": "EVENT_RECORD_REMOVE", "data": {"record": _RECORD_88231}},
    "EVENT_PRINT_RECORD": {
        "type": "EVENT_PRINT_RECORD",
        "data": {"identId": 57, "url": "https://example.invalid/records/88231.pdf"},
    },
    "EVENT_STREETSIGN_UPDATED": {
        "type": "EVENT_STREETSIGN_UPDATED",
        "data": {
            "signData": {
                "ids": [3, 4],
                "text1": "ACCIDENT AHEAD",
                "text2": "LEFT LANE CLOSED",
                "text3": "",
            }
        },
    },
    "EVENT_TONE": {
        "type": "EVENT_TONE",
        "data": {
            "url": "https://example.invalid/tones/structure-fire.mp3",
            "playTonesTo": [
                {"type": 1, "value": 4021, "label": "Call 4021"},
                {"type": 3, "value": "LSFD", "label": "LSFD"},
            ],
        },
    },
    "EVENT_CHAR_SELECTED": {
        "type": "EVENT_CHAR_SELECTED",
        "data": {"accId": "6f1c2b9e-1111-4a2b-9c3d-000000000057", "id": 90412},
    },
    # 3.23: the consumer's nesting (callout.data, PascalCase keys), which the resource uses.
    "EVENT_NEW_CALLOUT": {
        "type": "EVENT_NEW_CALLOUT",
        "data": {
            "callout": {
                "id": "ers_bank_robbery_02",
                "data": {
                    "CalloutLocations": [{"X": 231.4, "Y": 214.9, "Z": 0}],
                    "PedWeaponData": ["weapon_pistol"],
                },
            }
        },
    },
    "EVENT_PAGER_REBORN": {
        "type": "EVENT_PAGER_REBORN",
        "data": {
            "addresses": ["STATION-3"],
            "identIds": [61],
            "nature": "Emergency",
            "body": "Structure fire, 1200 Grove St",
        },
    },
    "EVENT_STATION_ALERT": {
        "type": "EVENT_STATION_ALERT",
        "data": {
            "locations": [{"name": "Fire Station 3", "open": ["Bay 1"], "close": []}],
            "message": "Engine 3, structure fire, Grove Street",
            "colors": ["red"],
            "tone": "Alert Tone A",
        },
    },
    "EVENT_COMMUNITY_LINK_VERIFIED": {
        "type": "EVENT_COMMUNITY_LINK_VERIFIED",
        "data": {
            "communityUserId": "license:0a1b2c3d",
            "accountUuid": "6f1c2b9e-1111-4a2b-9c3d-000000000057",
        },
    },
    # 3.30: logKey sits at the top level; no consumer reads data.
    "GET_LOGS": {
        "type": "GET_LOGS",
        "logKey": "sample-log-key-0000",
        "data": {},
    },
    # 3.31: the 2020 single dispatch event; dispatch_type 0 is CALL_NEW.
    "EVENT_DISPATCH": {
        "type": "EVENT_DISPATCH",
        "data": {
            "dispatch_type": 0,
            "dispatch": {
                **{name: value for name, value in _CALL_4021.items() if name != "idents"},
                "units": [_UNIT_57],
            },
        },
    },
    # 3.31: 2020, a unit cleared from a call, as full unit objects.
    "EVENT_UNIT_CALL_CLEAR": {"type": "EVENT_UNIT_CALL_CLEAR", "data": {"units": [_UNIT_57]}},
}


def event_types() -> list[str]:
    """The types there is a sample for, in the order of `CANONICAL_TYPES`."""
    return list(SAMPLES)


def sample_body(event_type: str) -> dict[str, Any]:
    """A fresh copy of the sample body for `event_type` (exact name), without `key`."""
    return copy.deepcopy(SAMPLES[event_type])
