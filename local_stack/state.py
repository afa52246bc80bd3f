"""What a running stack tells the commands run beside it (`make verify-local`, `make replay`).

The supervisor writes `<state dir>/stack.json` once everything answers and removes it when it
stops: the URLs, the emulator's host and project, the name prefix, the worker's log file.
Never a key: the commands take the dev key from the same settings the receiver got.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from sonoran_receiver.keys import split_keys

STATE_FILE: Final = "stack.json"


@dataclass(frozen=True)
class StackState:
    event_url: str
    console_url: str
    emulator_host: str
    project: str
    prefix: str
    worker_log: str

    def write(self, state_dir: Path) -> None:
        path = state_dir / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, state_dir: Path) -> StackState | None:
        """The running stack's state, or None when no stack runs from this state dir."""
        try:
            values = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
            return cls(**{name: str(values[name]) for name in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None


def remove_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def dev_key(environ: Mapping[str, str]) -> str | None:
    """The first key the stack's receiver accepts: the one the console and
    `make verify-local` send with."""
    keys = all_keys(environ)
    return keys[0] if keys else None


def all_keys(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Every key the receiver accepts, for the console to make sure it shows none."""
    keys = split_keys(environ.get("SONORAN_API_KEYS", ""))
    key_file = environ.get("SONORAN_API_KEYS_FILE", "").strip()
    if key_file:
        with contextlib.suppress(OSError):
            keys += split_keys(Path(key_file).read_text(encoding="utf-8"))
    return keys
