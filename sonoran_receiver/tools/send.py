"""Post one sample Sonoran CAD push event to a receiver: the last-mile check after a deploy.

    SONORAN_API_KEY=... python -m sonoran_receiver.tools.send --url https://x.run.app EVENT_911
    python -m sonoran_receiver.tools.send --url URL --key KEY --server 2 event_unit_panic
    python -m sonoran_receiver.tools.send --list

The body is what the CAD would send: `{"key": ..., "type": ..., "data": {...}}` with the
sample of `sonoran_receiver.tools.samples`. A URL without a path gets `/sonorancad/event`, as the
CAD appends it; `--server N` sets `?server=N` as the FiveM forwarding URL carries it.
Prints the answer's status and body; exits 0 on 2xx, 1 on any other answer, 2 on a usage
error, 3 when the receiver cannot be reached.

Standard library only (urllib), so it runs from a bare checkout with any Python 3.11+.
The key is never printed, not even if a receiver echoed it back, and nothing the target
sent is printed with its control characters (`printable`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# The receiver's own rule for ?server= (body.py imports nothing but the standard library).
from sonoran_receiver.publishing.message import SERVER_RE
from sonoran_receiver.tools.samples import event_types, sample_body

EVENT_PATH: Final = "/sonorancad/event"
KEY_ENV: Final = "SONORAN_API_KEY"
# An answer body is a short JSON object; anything longer is shown cut.
_MAX_SHOWN_BODY: Final = 4000
REDACTED: Final = "[key redacted]"

EXIT_OK: Final = 0
EXIT_NOT_2XX: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNREACHABLE: Final = 3


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect instead of following it.

    urllib turns a redirected POST into a GET without the body: the receiver's GET probe
    would then answer 200 "ok" and the check would pass without the event ever arriving.
    """

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def event_url(url: str, server: str | None) -> str:
    """The URL to post to: `/sonorancad/event` when `url` has no path, `?server=` when asked.

    Raises ValueError for anything but an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("--url must be an absolute http:// or https:// URL")
    path = parts.path if parts.path not in ("", "/") else EVENT_PATH
    query = parse_qsl(parts.query, keep_blank_values=True)
    if server is not None:
        query = [(name, value) for name, value in query if name != "server"]
        query.append(("server", server))
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def request_body(event_type: str, key: str) -> bytes:
    """The CAD's envelope: `key` first, then the sample's `type` and `data`."""
    return json.dumps({"key": key, **sample_body(event_type)}).encode("utf-8")


# C0 controls, DEL and C1 controls: a terminal acts on them (clear the screen, retitle the
# window, move the cursor back over a line), so text from the network never prints them.
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def redact(text: str, key: str) -> str:
    """`text` without `key`, in any letter case (the receiver compares keys that way)."""
    if not key:
        return text
    return re.sub(re.escape(key), REDACTED, text, flags=re.IGNORECASE)


def printable(text: str, key: str) -> str:
    """Text that came over the network, as it may be printed: without control characters,
    then without `key`. Controls go first, so a key split by them is still found."""
    return redact(_CONTROLS.sub("", text), key)


def post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    """POST `body`; return status, reason and answer body, whatever the status.

    Raises OSError (urllib.error.URLError included) when nothing answers.
    """
    request = urllib.request.Request(  # noqa: S310 - event_url() allows http(s) only
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "sonoran-receiver-send/1"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, answer.reason, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            location = error.headers.get("Location")
            reason = f"{error.reason} (to {location})" if location else str(error.reason)
            return error.code, reason, error.read()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sonoran_receiver.tools.send",
        description="Post a sample Sonoran CAD push event to a receiver and print its answer.",
        epilog=(
            f"Prefer {KEY_ENV} over --key: a key typed on the command line stays in your "
            f"shell history. Exit status: 0 on 2xx, 1 on any other answer, 2 on a usage "
            f"error, 3 when the receiver cannot be reached."
        ),
    )
    parser.add_argument("type", nargs="?", metavar="TYPE", help="event type (any letter case)")
    parser.add_argument("--url", help=f"receiver URL; {EVENT_PATH} is appended when it has no path")
    parser.add_argument("--key", help=f"community API key (default: ${KEY_ENV})")
    parser.add_argument("--server", metavar="N", help="add ?server=N, as FiveM forwarding does")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait (a cold start takes some)"
    )
    parser.add_argument("--list", action="store_true", help="list the event types and exit")
    return parser


class UsageError(Exception):
    """A bad command line; the message names the argument, never the key."""


@dataclass(frozen=True)
class Delivery:
    url: str
    event_type: str
    key: str = field(repr=False)
    timeout: float


def delivery_from(args: argparse.Namespace) -> Delivery:
    """Check the arguments; raise UsageError for the first one that is wrong."""
    if args.type is None:
        raise UsageError("give an event TYPE (see --list)")
    event_type = args.type.strip().upper()
    if event_type not in event_types():
        raise UsageError("unknown event type (see --list for the types with a sample)")
    if not args.url:
        raise UsageError("--url is required")
    key = (args.key if args.key is not None else os.environ.get(KEY_ENV, "")).strip()
    if not key:
        raise UsageError(f"no API key: set {KEY_ENV} (or pass --key)")
    if args.server is not None and not SERVER_RE.fullmatch(args.server):
        raise UsageError("--server must be 1 to 64 letters, digits, '_', '.' or '-'")
    try:
        url = event_url(args.url, args.server)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return Delivery(url=url, event_type=event_type, key=key, timeout=args.timeout)


def deliver(delivery: Delivery) -> int:
    """Post the sample, print the answer (key redacted), return the exit status."""
    print(f"POST {delivery.url} ({delivery.event_type})", file=sys.stderr)
    body = request_body(delivery.event_type, delivery.key)
    try:
        status, reason, answer = post(delivery.url, body, delivery.timeout)
    except OSError as error:
        cause = getattr(error, "reason", error)
        print(
            f"error: no answer from {delivery.url}: {printable(str(cause), delivery.key)}",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE

    text = answer.decode("utf-8", errors="replace")
    if len(text) > _MAX_SHOWN_BODY:
        text = text[:_MAX_SHOWN_BODY] + " [...]"
    print(f"{status} {printable(reason, delivery.key)}")
    if text:
        print(printable(text, delivery.key))
    return EXIT_OK if 200 <= status < 300 else EXIT_NOT_2XX


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        for name in event_types():
            print(name)
        return EXIT_OK
    try:
        delivery = delivery_from(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return deliver(delivery)


if __name__ == "__main__":
    sys.exit(main())
