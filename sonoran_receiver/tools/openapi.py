"""The OpenAPI 3.1 document of the HTTP function, made from the event models and the contract.

    python -m sonoran_receiver.tools.openapi          # write openapi/openapi.json (`make openapi`)
    python -m sonoran_receiver.tools.openapi --check  # exit 1 when the committed one is stale

The request body is a `oneOf` of every canonical event's request body: each model's own JSON
Schema (validation mode, so `key` is in it and required), plus unknown types. Every answer
of the contract's HTTP flow is documented with its body: `200` accepted, the `200`
`text/plain` probe for GET and HEAD, `400`, `401`, `404`, `405`, `413`, `422`, `500`, `503`.
`tests/tools/test_openapi.py` checks that the file is current and runs schemathesis against a real
server with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from sonoran_receiver.config import Settings
from sonoran_receiver.events import MODELS, Event, UnknownEvent
from sonoran_receiver.events.types import ALIASES

# The one pattern the flow checks `?server=` with (body.py), so the two cannot drift apart.
from sonoran_receiver.publishing.message import SERVER_RE
from sonoran_receiver.receiving.answers import (
    BadRequest,
    EventTooLarge,
    HandlerFailed,
    InvalidEvent,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PublishUnavailable,
    RequestTimeout,
    Unauthorized,
)
from sonoran_receiver.receiving.server_limits import (
    ERROR_REASONS,
    MAX_HEAD_TIMEOUT_S,
    MAX_HEADER_FIELD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_REQUEST_LINE_BYTES,
)
from sonoran_receiver.receiving.server_name import MAX_QUERY_BYTES

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = Path("openapi") / "openapi.json"
EVENT_PATH: str = Settings.model_fields["event_path"].default
REF = "#/components/schemas/{model}"
UNKNOWN_TYPE = r"^[A-Z0-9_]{1,128}$"
PROBE_TEXT = "ok: Sonoran CAD event receiver\n"


def _schema(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _error(description: str, *reasons: str) -> dict[str, Any]:
    """An error answer: `{"error": "<short reason>"}` and nothing else (no input echoed)."""
    error: dict[str, Any] = {"type": "string", "description": "A short reason"}
    if reasons:
        error["examples"] = list(reasons)
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": error},
                    "required": ["error"],
                    "additionalProperties": False,
                }
            }
        },
    }


def event_schemas() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The `oneOf` members and every component schema they use.

    Each known model's `type` is widened to its legacy names (the receiver maps them); the
    unknown-type member excludes every name a model takes, so the members never overlap.
    """
    models: list[type[Event]] = [*MODELS.values(), UnknownEvent]
    refs, generated = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    components: dict[str, Any] = generated["$defs"]
    members: list[dict[str, str]] = []
    for event_type, model in MODELS.items():
        name = refs[(model, "validation")]["$ref"].rsplit("/", 1)[1]
        names = [event_type, *sorted(alias for alias, to in ALIASES.items() if to == event_type)]
        properties = components[name]["properties"]
        properties["type"] = (
            {"const": event_type, "type": "string"}
            if len(names) == 1
            else {"enum": names, "type": "string"}
        )
        members.append(_schema(name))
    unknown = refs[(UnknownEvent, "validation")]["$ref"].rsplit("/", 1)[1]
    taken = sorted({*MODELS, *ALIASES})
    components[unknown]["properties"]["type"] = {
        "type": "string",
        "pattern": UNKNOWN_TYPE,
        "not": {"enum": taken},
        "description": "Any other type: accepted and routed as UNKNOWN "
        "(422 when SONORAN_STRICT_TYPES=true)",
        "examples": ["EVENT_SOMETHING_NEW"],
    }
    members.append(_schema(unknown))
    return members, components


def document() -> dict[str, Any]:
    """The whole document: its info, the two paths, and the components they refer to."""
    members, schemas = event_schemas()
    schemas["PushEvent"] = _push_event(members)
    schemas["Accepted"] = _accepted()
    return {
        "openapi": "3.1.0",
        "info": _info(),
        "servers": [{"url": "http://127.0.0.1:8080", "description": "`make run`"}],
        "paths": {EVENT_PATH: _event_operations(), "/{other}": _other_paths()},
        "components": {"schemas": schemas, "responses": _responses()},
    }


def _info() -> dict[str, str]:
    return {
        "title": "Sonoran CAD push-event receiver",
        "version": _version(),
        "description": "One HTTP function that receives Sonoran CAD push events, checks "
        "the community API key carried in the body, validates the event into one "
        "canonical shape and publishes it to Pub/Sub. Generated by "
        "`python -m sonoran_receiver.tools.openapi` (`make openapi`); do not edit.",
    }


def _push_event(members: list[dict[str, str]]) -> dict[str, Any]:
    """The request body: one of the event schemas."""
    return {
        "title": "Sonoran CAD push event",
        "description": "What the CAD (or the FiveM resource forwarding it) POSTs: the community "
        "API key, the event type and its payload. Types are stripped and upper-cased before "
        "matching; `data` given as an array of exactly one object is that object.",
        "oneOf": members,
    }


def _accepted() -> dict[str, Any]:
    """The `200` body of an accepted event."""
    return {
        "type": "object",
        "properties": {
            "status": {"const": "ok", "type": "string"},
            "type": {
                "type": "string",
                "description": "The canonical type",
                "examples": ["EVENT_911"],
            },
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "The event_id: a random UUID naming this accepted event, the "
                "same in its published message and on every redelivery",
            },
            "routes": {
                "type": "array",
                "items": {"enum": ["drop", "inline", "publish"], "type": "string"},
                "description": "The route actions taken",
            },
        },
        "required": ["status", "type", "id", "routes"],
        "additionalProperties": False,
    }


def _responses() -> dict[str, Any]:
    """Every answer of the HTTP flow, by name, as the operations refer to them."""
    return {
        "Accepted": {
            "description": "Accepted: every publish route's message was confirmed by Pub/Sub (or "
            "written to the local sink) before this answer, and inline handlers ran",
            "content": {"application/json": {"schema": _schema("Accepted")}},
        },
        "Probe": {
            "description": "The reachability probe: a short line, no configuration or secrets",
            "content": {"text/plain": {"schema": {"type": "string", "examples": [PROBE_TEXT]}}},
        },
        "BadRequest": _with_problems(
            _error(
                "Not UTF-8, not JSON, or not a JSON object; or, after a good "
                "key, `type` missing, not a string, or not 1 to 128 of A-Z, 0-9 and _ after "
                "upper-casing (`invalid type` with `problems`; the event was kept in the "
                "quarantine)",
                BadRequest.reason,
            ),
            required=False,
        ),
        "Unauthorized": _unauthorized(),
        "NotFound": _error("Not the event path", NotFound.reason),
        "MethodNotAllowed": _with_header(
            _error("Any method but POST, GET and HEAD", MethodNotAllowed.reason),
            "Allow",
            {"required": True, "schema": {"const": "GET, HEAD, POST", "type": "string"}},
        ),
        "PayloadTooLarge": _error(
            "Content-Length, or the body read so far, over SONORAN_MAX_BODY_BYTES (`"
            f"{PayloadTooLarge.reason}`); or, after a good key, the event as it would be "
            "published over Pub/Sub's message limit (`"
            f"{EventTooLarge.reason}`): nothing was published, and a `too_large` record of "
            "its type, event_id and size (no data) was kept in the quarantine",
            PayloadTooLarge.reason,
            EventTooLarge.reason,
        ),
        "InvalidEvent": _with_problems(
            _error(
                "A known type whose payload fails its model (or an unknown type under strict "
                "types): the failing field paths and messages, never the values sent. The "
                "event was kept in the quarantine (PUBSUB_QUARANTINE_TOPIC) before this answer",
                InvalidEvent.reason,
            ),
            required=True,
        ),
        "HandlerFailed": _error(
            "Route `inline` only, and a handler raised: nobody handled the event",
            HandlerFailed.reason,
        ),
        "RequestTimeout": _error(
            "The body did not arrive whole within SONORAN_BODY_TIMEOUT_S (`"
            f"{RequestTimeout.reason}`), or the request line and headers within the same "
            f"time, at most {MAX_HEAD_TIMEOUT_S:g} s (`{ERROR_REASONS[408]}`); the "
            "connection is closed",
            RequestTimeout.reason,
            ERROR_REASONS[408],
        ),
        "RequestLineTooLong": _error(
            f"A request line over {MAX_REQUEST_LINE_BYTES} bytes, answered by the server "
            "before the function runs; the connection is closed",
            ERROR_REASONS[414],
        ),
        "HeadersTooLarge": _error(
            f"Over {MAX_HEADER_FIELDS} header fields, or one over {MAX_HEADER_FIELD_BYTES} "
            "bytes, answered by the server before the function runs; the connection is closed",
            ERROR_REASONS[431],
        ),
        "PublishUnavailable": _with_header(
            _error(
                "Pub/Sub did not confirm within PUBSUB_PUBLISH_TIMEOUT_S: the event was NOT "
                "acknowledged; send it again",
                PublishUnavailable.reason,
            ),
            "Retry-After",
            {
                "required": True,
                "description": "Seconds to wait before sending again",
                "schema": {"type": "integer", "minimum": 1},
            },
        ),
    }


def _unauthorized() -> dict[str, Any]:
    """The `401`: its reason is always the same word, and nothing more is said."""
    unauthorized = _error(
        "`key` missing, not a string, or matching no configured key (case-insensitive)"
    )
    _body(unauthorized)["properties"]["error"] = {"const": Unauthorized.reason, "type": "string"}
    return unauthorized


def _with_header(response: dict[str, Any], name: str, header: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {name: header}
    return response


def _with_problems(response: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """An error that lists the failing field paths and messages (`problems`)."""
    body = _body(response)
    body["properties"]["problems"] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "loc": {"type": "string", "examples": ["data.call.callId"]},
                "msg": {"type": "string", "examples": ["Input should be a valid integer"]},
            },
            "required": ["loc", "msg"],
            "additionalProperties": False,
        },
    }
    if required:
        body["required"] = ["error", "problems"]
    return response


def _body(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = response["content"]["application/json"]["schema"]
    return body


def _event_operations() -> dict[str, Any]:
    """The event path: POST receives, GET and HEAD probe, every other method is 405."""
    probe = {
        "summary": "Reachability probe (admins open the URL in a browser)",
        "responses": {"200": _response("Probe")},
    }
    operations: dict[str, Any] = {
        "post": {
            "operationId": "receiveEvent",
            "summary": "Receive one push event",
            "description": "The steps run in order and the first that fails gives the answer: "
            "size (413; 408 when the body is slower than SONORAN_BODY_TIMEOUT_S), JSON "
            "(400), key (401), type (400), validation (422), "
            "route (200; 413 when the message would be over Pub/Sub's limit, 503 when "
            "Pub/Sub does not confirm, 500 when an inline-only handler fails). A bad "
            "`?server=` after a good key keeps the event without a server. A trailing `/` "
            "on the path is served too.",
            "parameters": [
                {
                    "name": "server",
                    "in": "query",
                    "required": False,
                    "description": "The game server that forwarded the event (FiveM "
                    "`pushEventForwardUrl`); copied into the message. Read after the key: "
                    "a value outside this pattern, a repeated `server` or a query over "
                    f"{MAX_QUERY_BYTES} bytes keeps the event without a server (logged at "
                    "WARNING), never a 400",
                    "schema": {"type": "string", "pattern": f"^{SERVER_RE.pattern}$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _schema("PushEvent")}},
            },
            "responses": {
                "200": _response("Accepted"),
                "400": _response("BadRequest"),
                "401": _response("Unauthorized"),
                "408": _response("RequestTimeout"),
                "413": _response("PayloadTooLarge"),
                "414": _response("RequestLineTooLong"),
                "422": _response("InvalidEvent"),
                "431": _response("HeadersTooLarge"),
                "500": _response("HandlerFailed"),
                "503": _response("PublishUnavailable"),
            },
        },
        "get": {**probe, "operationId": "probe"},
        "head": {**probe, "operationId": "probeHead"},
    }
    for method in ("put", "patch", "delete", "options", "trace"):
        operations[method] = {
            "summary": "Not allowed",
            "responses": {"405": _response("MethodNotAllowed")},
            "operationId": f"{method}NotAllowed",
        }
    return operations


def _other_paths() -> dict[str, Any]:
    """Every other path is 404, shown with one-segment paths."""
    other = {
        "summary": "Any other path",
        "responses": {"404": _response("NotFound")},
    }
    return {
        "description": "Every path but the event path answers 404; shown here with "
        "one-segment paths",
        "parameters": [
            {
                "name": "other",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,40}$"},
            }
        ],
        "get": {**other, "operationId": "otherPathGet"},
        "post": {**other, "operationId": "otherPathPost"},
    }


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as project:
        return str(tomllib.load(project)["project"]["version"])


def rendered() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root")
    arguments = parser.parse_args(argv)
    path = arguments.root / DOCUMENT
    if arguments.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != rendered():
            print(f"stale: {DOCUMENT} (run `make openapi`)", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(exist_ok=True)
    path.write_text(rendered(), encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
