"""The real functions-framework app, built from `main.py` with a given environment."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import flask
from functions_framework import create_app

from sonoran_receiver.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"
EVENT_PATH = "/sonorancad/event"
TEST_KEY = "test-key-0123456789abcdef"

# Every variable the receiver reads, so a test starts from none of them set.
RECEIVER_VARIABLES = tuple(field.alias for field in Settings.model_fields.values() if field.alias)
# Variables functions-framework and the Pub/Sub client read beside ours.
PLATFORM_VARIABLES = ("FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "FUNCTION_SOURCE")


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Exactly `values` for the receiver's variables, restored afterwards."""
    names = set(RECEIVER_VARIABLES) | set(PLATFORM_VARIABLES) | set(values)
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_app(values: Mapping[str, str], target: str = "sonorancad_event") -> flask.Flask:
    """Import `main.py` afresh under `values`, as functions-framework does at start."""
    with environment(values):
        app: flask.Flask = create_app(target, str(MAIN))  # type: ignore[no-untyped-call]
    return app


def event_env(**overrides: str) -> dict[str, str]:
    """The smallest environment the HTTP function starts with, plus overrides."""
    return {"SONORAN_API_KEYS": TEST_KEY, **overrides}
