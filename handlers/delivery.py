"""Outgoing HTTP for handlers: a total deadline, a bounded answer, no redirects, no URL in errors.

Bounds (docs/reference/contract.md "What an unauthenticated request may cost").
`requests`' `timeout=(5, 10)` bounded each read, not the call: a target
answering one byte every 5 s held an inline request for 126 s, and a 300 MB answer was read
whole. Here every call runs against one `Deadline` that covers connecting, the TLS handshake,
sending the request and reading the answer:

- before each step the socket's timeout is set to the time left, so no single read or write
  outlives the deadline;
- a watchdog shuts the socket down when the deadline passes, so a target that keeps each read
  short by dripping bytes is cut off all the same (a per-read timeout, and urllib3's
  `Timeout(total=...)`, which only sets the socket timeout once before the answer, cannot);
- only the status and headers of a success are read; of any other answer at most
  `MAX_ANSWER_BYTES` of the body (Discord's `429` states its wait in a small JSON body), asked
  for uncompressed so a small answer cannot expand.

Worst cases, in the HTTP function (inline: the CAD waits for them) and in the worker alike:
`discord` at most `HANDLER_DEADLINE_S` (10 s) for both attempts and the `429` wait between
them; `forward` at most 10 s; `log` makes no call. So a request whose type runs `discord` and
`forward` inline is held at most 20 s by its handlers, well inside the functions' 60 s timeout
and the worker subscription's 60 s ack deadline. The one step outside the deadline is name
resolution, which happens before a socket exists and is bounded by the system resolver.

A webhook URL is a credential (Discord's carries its token in the path), and exception texts
quote URLs, so every failure becomes a `DeliveryFailed` naming only the handler and what went
wrong: the target's HTTP status when it answered, else a few words ("timeout", "connection
refused"), which the handler's log line carries as fields; tracebacks of the original are
cut (`from None`).

Every call says who is calling: `User-Agent: DiscordBot (<project URL>, <version>)`, the form
Discord's API reference asks of every HTTP client ("User Agent"); a forward target sees the
same.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import LocationParseError
from urllib3.util import make_headers, parse_url

from sonoran_receiver import PROJECT_URL, VERSION
from sonoran_receiver.alarms import CLOCK

# One handler's whole budget: the CAD gets no answer while inline handlers run.
HANDLER_DEADLINE_S = 10.0
# A target that does not accept the connection within this is not there.
CONNECT_TIMEOUT_S = 5.0
# The status and `Retry-After` are all we use; a JSON error body is a few hundred bytes.
MAX_ANSWER_BYTES = 4096

# urllib3 warns of a malformed answer head with the request's URL in the text, and Python
# prints warnings to stderr even with logging unconfigured: a Discord webhook's token would
# reach the logs. Its other warning here (a certificate for another host) is a failure we
# report ourselves.
logging.getLogger("urllib3.connection").setLevel(logging.ERROR)

_SUCCESS = range(200, 300)

USER_AGENT = f"DiscordBot ({PROJECT_URL}, {VERSION})"


class DeliveryFailed(Exception):
    """A handler's request failed; the text never holds the URL, the body or a secret.

    `http_status` is the target's answer when it gave one; `reason` says what went wrong in
    a few words either way ("HTTP 404", "timeout", "connection refused"), fit for a log field.
    """

    def __init__(self, handler: str, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{handler}: {reason}")
        self.reason = reason
        self.http_status = http_status


class Deadline:
    """A point in time a handler's calls (and waits) must finish by."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(self._end - time.monotonic(), 0.0)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._end

    def left_or_raise(self) -> float:
        """Seconds left; `TimeoutError` once none are (a 0 socket timeout means non-blocking)."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


@dataclass(frozen=True)
class Reply:
    """What came back: the status, the headers (names lower-cased) and a bounded body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    """Empty for a success (never read); else at most `MAX_ANSWER_BYTES`."""


def post(
    url: str, body: bytes, headers: Mapping[str, str], *, handler: str, deadline: Deadline
) -> Reply:
    """POST `body` once, all of it within `deadline`; raise DeliveryFailed without an answer."""
    try:
        target = parse_url(url)
    except LocationParseError:
        raise DeliveryFailed(handler, "URL cannot be parsed") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise DeliveryFailed(handler, "URL is not http or https")
    request_headers = {
        "Content-Type": "application/json",
        # Compressed answers could expand past our read bound.
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
        **headers,
    }
    if target.auth:
        request_headers.update(make_headers(basic_auth=target.auth))
    connection = _connection(target.scheme, target.host, target.port)
    watchdog = _Watchdog(connection, deadline)
    try:
        return _exchange(
            connection,
            watchdog,
            target.request_uri,
            body=body,
            headers=request_headers,
            deadline=deadline,
        )
    # Whatever the network, TLS, http.client or urllib3 raised: its text may quote the URL.
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as err:
        raise DeliveryFailed(handler, failure_reason(err, deadline)) from None
    finally:
        watchdog.disarm()
        connection.close()


def require_success(reply: Reply, *, handler: str) -> None:
    if reply.status not in _SUCCESS:
        raise DeliveryFailed(handler, f"HTTP {reply.status}", http_status=reply.status)


# What kept a request from an answer, first match wins. urllib3 wraps the socket's error in a
# NewConnectionError (which is also a ConnectTimeoutError): the wrapped one is looked at.
_REASONS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((urllib3.exceptions.NameResolutionError, socket.gaierror), "name not resolved"),
    ((ConnectionRefusedError,), "connection refused"),
    ((TimeoutError, urllib3.exceptions.TimeoutError), "timeout"),
    ((ssl.SSLError, ssl.CertificateError, urllib3.exceptions.SSLError), "TLS failed"),
    ((ConnectionResetError, BrokenPipeError), "connection reset"),
    ((OSError,), "connection failed"),
)


def failure_reason(error: BaseException, deadline: Deadline) -> str:
    """What kept a request from an answer, in the words a log line carries: never the text
    of `error`, which may quote the URL."""
    if deadline.passed:
        return "timeout"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        error = error.__cause__ or error.__context__ or error
    for kinds, reason in _REASONS:
        if isinstance(error, kinds):
            return reason
    return "bad answer"


def _connection(scheme: str, host: str, port: int | None) -> HTTPConnection:
    # urllib3 wants an IPv6 literal without its brackets; http.client adds them to `Host`.
    host = host.strip("[]")
    if scheme == "https":
        # The CA bundle `requests` used, so the same targets verify.
        return HTTPSConnection(host, port, timeout=CONNECT_TIMEOUT_S, ca_certs=certifi.where())
    return HTTPConnection(host, port, timeout=CONNECT_TIMEOUT_S)


def _exchange(
    connection: HTTPConnection,
    watchdog: _Watchdog,
    path: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    deadline: Deadline,
) -> Reply:
    # urllib3 puts `connection.timeout` on the socket before connecting, sending and reading
    # the status line, so each step gets at most the time left.
    connection.timeout = min(CONNECT_TIMEOUT_S, deadline.left_or_raise())
    connection.connect()
    connected = watchdog.hold(connection.sock)
    connection.timeout = deadline.left_or_raise()
    # A redirect is never followed: it would send a signed body, or an event, elsewhere.
    connection.request(
        "POST", path, body=body, headers=headers, preload_content=False, decode_content=False
    )
    connection.timeout = deadline.left_or_raise()
    response = connection.getresponse()
    # Cut off mid-answer, http.client may still make an answer of what it had (a status line
    # and half a header, say): nothing read once the watchdog fired counts.
    watchdog.raise_if_fired()
    reply_headers = {name.lower(): value for name, value in response.headers.items()}
    if response.status in _SUCCESS:
        # The status says all; a target slow to send a body we do not need costs nothing.
        return Reply(response.status, reply_headers, b"")
    if connected is not None:
        connected.settimeout(deadline.left_or_raise())
    # One bounded read: the rest of a large answer is dropped with the connection.
    kept = response.read(MAX_ANSWER_BYTES, decode_content=False)
    watchdog.raise_if_fired()
    return Reply(response.status, reply_headers, kept)


class _Watchdog:
    """Shuts the connection's socket down when the deadline passes.

    Socket timeouts bound each read, not their sum; shutting the socket down wakes a read or
    write blocked in another thread at once (the caller sees an error, then `DeliveryFailed`).
    While connecting, the socket is looked up when the deadline passes (urllib3 sets
    `connection.sock` to the TCP socket before the TLS handshake); once connected, the socket
    is held, since http.client clears `connection.sock` when the answer says
    `Connection: close` and hands the socket to the response.
    """

    def __init__(self, connection: HTTPConnection, deadline: Deadline) -> None:
        self._connection: HTTPConnection | None = connection
        self._held: socket.socket | None = None
        self._fired = False
        self._lock = threading.Lock()
        # The process's one alarm thread, not a thread per call.
        self._alarm = CLOCK.set(deadline.remaining(), self._cut)

    def hold(self, connected: socket.socket | None) -> socket.socket | None:
        """Remember the connected socket (returned for the caller's own use)."""
        with self._lock:
            self._held = connected
            if self._fired:
                # The deadline passed while connecting, before there was a socket to cut.
                _shut(connected)
        return connected

    def raise_if_fired(self) -> None:
        with self._lock:
            if self._fired:
                raise TimeoutError("deadline passed")

    def disarm(self) -> None:
        self._alarm.cancel()
        # Under the lock: a cut that already started finishes before the socket is closed.
        with self._lock:
            self._connection = None
            self._held = None

    def _cut(self) -> None:
        with self._lock:
            self._fired = True
            if self._connection is not None:
                _shut(self._held or self._connection.sock)


def _shut(target: socket.socket | None) -> None:
    if target is None:
        return
    try:
        target.shutdown(socket.SHUT_RDWR)
    except OSError:
        # Already closed: nothing left to wake.
        return
