"""Settings, read once from the environment at start and validated with pydantic.

A bad or missing value raises `ConfigError` naming the variable; `runtime.start` turns it
into one line and a refused start. Field aliases are the variable names, so the table in
`docs/configuration.md` and `.env.example` can be checked against this model.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sonoran_receiver.keys import read_key_file, split_keys
from sonoran_receiver.type_table import TypeTable, parse_type_table


class ConfigError(Exception):
    """A setting is missing or invalid; the start is refused with one line naming it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


EVENT_TARGET = "sonorancad_event"
WORKER_TARGET = "sonorancad_worker"

ROUTE_ACTIONS = frozenset({"publish", "inline", "drop"})
DEFAULT_ROUTES = "*=publish,GET_LOGS=drop"
DEFAULT_HANDLERS = "*=log"

# The platform refuses requests over 32 MiB anyway (Cloud Run functions' request size quota).
PLATFORM_MAX_BODY_BYTES = 32 * 1024 * 1024
# Pub/Sub takes a publish request of at most 10 MB, 10,000,000 bytes as its client library
# counts them; over it, every attempt fails.
PUBSUB_MAX_REQUEST_BYTES = 10_000_000
MAX_MESSAGE_BYTES = PUBSUB_MAX_REQUEST_BYTES - 1024
"""The most one message may count, data plus its attributes' names and values, whatever sink
stores it (docs/reference/contract.md "After the key, every accepted event stays valid"): a
larger one is answered 413 and only a short record of it is kept. The 1,024 bytes held back
are the rest of a one-message request: the topic path (at most 333 bytes as configured) and
the protobuf framing (under 100 bytes for ten attributes)."""
# A body's numbers can come back longer than sent: `1e15` is kept as the number it is and
# written `1000000000000000.0`, 3.8 times `1e15,`, the most a value outside a capped list
# grows (docs/reference/contract.md "Values kept as sent"). 2 MiB of
# them make an 8.0 MB message; the 2 MB to spare cover what grows more but is capped (an
# integer list of 5,000 items written as text, the 911 union repeating the identities), and
# anything else still meets the 413 above, never a message Pub/Sub refuses forever.
PUBSUB_MAX_BODY_BYTES = 2 * 1024 * 1024

_TOPIC_ID = r"[A-Za-z][A-Za-z0-9._~+%-]{2,254}"
_TOPIC_ID_RE = re.compile(_TOPIC_ID)
_TOPIC_PATH_RE = re.compile(rf"projects/[a-z][a-z0-9.:-]{{4,62}}/topics/{_TOPIC_ID}")


class Settings(BaseModel):
    """Every variable of docs/reference/contract.md "Entry points and configuration"."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="ignore")

    api_keys: tuple[str, ...] = Field(default=(), alias="SONORAN_API_KEYS")
    api_keys_file: Path | None = Field(default=None, alias="SONORAN_API_KEYS_FILE")
    event_path: str = Field(default="/sonorancad/event", alias="SONORAN_EVENT_PATH")
    routes: TypeTable = Field(
        default_factory=lambda: _routes(DEFAULT_ROUTES), alias="SONORAN_ROUTES"
    )
    strict_types: bool = Field(default=False, alias="SONORAN_STRICT_TYPES")
    max_body_bytes: Annotated[int, Field(gt=0, le=PLATFORM_MAX_BODY_BYTES)] = Field(
        default=1_048_576, alias="SONORAN_MAX_BODY_BYTES"
    )
    # A 1 MiB body (the default limit) arrives within 10 s over a 1 Mbit/s uplink; real
    # events are a few KiB and arrive in milliseconds. At most Cloud Run's longest request
    # timeout (docs.cloud.google.com/run/docs/configuring/request-timeout).
    body_timeout_s: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] = Field(
        default=10.0, alias="SONORAN_BODY_TIMEOUT_S"
    )
    pubsub_topic: str | None = Field(default=None, alias="PUBSUB_TOPIC")
    quarantine_topic: str | None = Field(default=None, alias="PUBSUB_QUARANTINE_TOPIC")
    google_cloud_project: str | None = Field(default=None, alias="GOOGLE_CLOUD_PROJECT")
    publish_timeout_s: Annotated[float, Field(gt=0, le=600)] = Field(
        default=10.0, alias="PUBSUB_PUBLISH_TIMEOUT_S"
    )
    local_sink_file: Path | None = Field(default=None, alias="LOCAL_SINK_FILE")
    pubsub_emulator_host: str | None = Field(default=None, alias="PUBSUB_EMULATOR_HOST")
    handlers: TypeTable = Field(
        default_factory=lambda: parse_type_table(DEFAULT_HANDLERS, item="handler"),
        alias="SONORAN_HANDLERS",
    )
    discord_webhook_url: str | None = Field(default=None, alias="DISCORD_WEBHOOK_URL")
    forward_url: str | None = Field(default=None, alias="FORWARD_URL")
    forward_secret: str | None = Field(default=None, alias="FORWARD_SECRET", repr=False)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return split_keys(value, ",") if isinstance(value, str) else value

    @field_validator("event_path")
    @classmethod
    def _event_path(cls, value: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", value):
            raise ValueError("must be a path starting with /")
        # A trailing slash is accepted on requests; store the path without it.
        return value.rstrip("/") or "/"

    @field_validator("routes", mode="before")
    @classmethod
    def _parse_routes(cls, value: Any) -> Any:
        return _routes(value) if isinstance(value, str) else value

    @field_validator("handlers", mode="before")
    @classmethod
    def _parse_handlers(cls, value: Any) -> Any:
        return parse_type_table(value, item="handler") if isinstance(value, str) else value

    @field_validator("pubsub_topic", "quarantine_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and not (
            _TOPIC_ID_RE.fullmatch(value) or _TOPIC_PATH_RE.fullmatch(value)
        ):
            raise ValueError("must be a topic id or projects/PROJECT/topics/TOPIC")
        return value

    @field_validator("discord_webhook_url", "forward_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("forward_secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is None:
            return None
        encoded = value.removeprefix("whsec_")
        try:
            secret = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if not value.startswith("whsec_") or len(secret) < 16:
            raise ValueError("must be whsec_ followed by base64 of at least 16 bytes")
        return value

    @property
    def topic_path(self) -> str | None:
        """The full topic path, or None when events go to the local sink."""
        return self._full_path(self.pubsub_topic)

    @property
    def quarantine_topic_path(self) -> str | None:
        """Where refused events of a trusted sender are kept (docs/reference/contract.md
        "Quarantine")."""
        return self._full_path(self.quarantine_topic)

    def _full_path(self, topic: str | None) -> str | None:
        if topic is None or topic.startswith("projects/"):
            return topic
        return f"projects/{self.google_cloud_project}/topics/{topic}"


def _routes(text: str) -> TypeTable:
    table = parse_type_table(text, allowed_values=ROUTE_ACTIONS, item="action")
    if not table.entries:
        # A value of only commas and spaces would drop every event without a word.
        raise ValueError("no TYPE=ACTIONS entry")
    for event_type, actions in table.entries.items():
        if "drop" in actions and len(actions) > 1:
            raise ValueError(f"drop cannot be combined with other actions for {event_type}")
    return table


def load_settings(environ: Mapping[str, str], target: str) -> Settings:
    """Build the settings for one function target; raise ConfigError naming the variable."""
    # An empty variable means unset: `.env` files and Terraform maps often carry `X=`.
    values = {name: value for name, value in environ.items() if value.strip()}
    try:
        settings = Settings.model_validate(values)
    except ValidationError as invalid:
        first = invalid.errors(include_input=False, include_url=False)[0]
        variable = str(first["loc"][0]) if first["loc"] else "configuration"
        raise ConfigError(variable, _plain(first["msg"])) from None
    for variable, topic in (
        ("PUBSUB_TOPIC", settings.pubsub_topic),
        ("PUBSUB_QUARANTINE_TOPIC", settings.quarantine_topic),
    ):
        if topic and not topic.startswith("projects/") and not settings.google_cloud_project:
            raise ConfigError("GOOGLE_CLOUD_PROJECT", f"needed when {variable} is a bare topic id")
    if settings.pubsub_topic and settings.max_body_bytes > PUBSUB_MAX_BODY_BYTES:
        raise ConfigError(
            "SONORAN_MAX_BODY_BYTES",
            f"at most {PUBSUB_MAX_BODY_BYTES} with PUBSUB_TOPIC (Pub/Sub's message limit)",
        )
    if target != WORKER_TARGET:
        _check_http_settings(settings)
    return settings


def _check_http_settings(settings: Settings) -> None:
    """What only the HTTP function needs: the worker is deployed without the key's secret."""
    if not settings.api_keys and settings.api_keys_file is None:
        raise ConfigError(
            "SONORAN_API_KEYS", "no API key configured (set it or SONORAN_API_KEYS_FILE)"
        )
    if settings.api_keys_file is not None:
        try:
            keys = read_key_file(settings.api_keys_file)
        except (OSError, UnicodeDecodeError) as unreadable:
            raise ConfigError(
                "SONORAN_API_KEYS_FILE", f"cannot read the file ({type(unreadable).__name__})"
            ) from None
        if not keys and not settings.api_keys:
            raise ConfigError("SONORAN_API_KEYS_FILE", "the file holds no key")


def _plain(message: str) -> str:
    # pydantic prefixes messages raised in validators with "Value error, ".
    return message.removeprefix("Value error, ")
