"""Outgoing HTTP for handlers: bounded in time, no redirects, failures without the URL.

A webhook URL is a credential (Discord's carries its token in the path), and the exception
text of `requests` quotes the URL, so every failure here becomes a `DeliveryFailed` naming
only the handler and what went wrong; tracebacks of the original are cut (`from None`).
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

# (connect, read) seconds. Inline handlers run before the CAD gets its answer, so a slow
# target must not hold the request for long; the worker is retried by Pub/Sub anyway.
TIMEOUT_S = (5.0, 10.0)


class DeliveryFailed(Exception):
    """A handler's request failed; the text never holds the URL, the body or a secret."""


def post(url: str, body: bytes, headers: Mapping[str, str], *, handler: str) -> requests.Response:
    """POST `body` once; raise DeliveryFailed when no HTTP answer came back."""
    try:
        # A redirect would send a signed body, or an event, somewhere the user did not name.
        return requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as failure:
        raise DeliveryFailed(f"{handler}: request failed ({type(failure).__name__})") from None


def require_success(response: requests.Response, *, handler: str) -> None:
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{handler}: answered HTTP {response.status_code}")
