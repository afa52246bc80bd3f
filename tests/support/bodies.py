"""Request bodies the flow tests send: realistic, in the shape the real sender uses."""

from __future__ import annotations

import json
from typing import Any

from tests.support.app import TEST_KEY

# The shape the FiveM framework reads from the real sender (docs/reference/push-events.md
# "EVENT_911").
EVENT_911_DATA: dict[str, Any] = {
    "call": {
        "callId": 318,
        "isEmergency": True,
        "caller": "Sam Poe",
        "location": "Paleto Blvd / Pyrite Ave",
        "description": "Vehicle fire, driver still inside",
        "metaData": {"x": "-412.5", "y": "6170.2", "postal": "1016"},
    },
    "apiIds": ["license:9f8e7d6c"],
}


def envelope(event_type: str = "EVENT_911", data: Any = None, key: Any = TEST_KEY) -> bytes:
    body: dict[str, Any] = {"key": key, "type": event_type}
    body["data"] = EVENT_911_DATA if data is None else data
    return json.dumps(body).encode("utf-8")
