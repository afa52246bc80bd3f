"""`log`: one structured line per event: type, ids, dedupe key; never free text."""

from __future__ import annotations

from typing import Any

from handlers.registry import register
from sonoran_receiver import logs
from sonoran_receiver.config import Settings
from sonoran_receiver.message import CanonicalEvent


@register("log")
def log_event(event: CanonicalEvent, settings: Settings) -> None:
    logs.info(
        "sonorancad event",
        type=event.type,
        dedupe_key=event.dedupe_key,
        server=event.server,
        received_at=event.received_at,
        ids=_ids(event.data),
    )


def _ids(data: Any) -> dict[str, Any] | None:
    """Top-level id fields (`callId`, `identIds`, ...): numbers, never text."""
    if not isinstance(data, dict):
        return None
    ids = {
        name: value
        for name, value in data.items()
        if (name.endswith(("Id", "Ids")) or name in {"id", "idents"}) and _is_id_value(value)
    }
    return ids or None


def _is_id_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_id_value(item) for item in value)
    return isinstance(value, int) and not isinstance(value, bool)
