"""The console in a real browser while the real stack runs: what a user sees.

Headless chromium (tests/support/browser.py) opens the console of a stack started with the
real emulator; events go through the receiver (a button press, and a direct POST for the
refused ones) and the test reads the DOM: the accepted event by its event_id with what the
worker did, the quarantined one with its reason and problems, the hostile text as text, and
the key nowhere.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from sonoran_receiver.tools.send import post
from tests.support.app import TEST_KEY
from tests.support.bodies import envelope
from tests.support.browser import headless_chromium, require_browser
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.emulator, pytest.mark.server]

# Bounds on waiting for the page to show what happened, not assertions about speed.
SHOWN_WITHIN_S = 60.0
# No double quote in it: the details show data as JSON, which escapes those.
HOSTILE = "<img src=x onerror=document.title='pwned'><script>document.title='pwned'</script>"

T = TypeVar("T")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    require_browser()
    with headless_chromium(tmp_path_factory.mktemp("browser")) as driver:
        yield driver


@pytest.fixture(scope="module")
def page(stack: RunningStack, browser: webdriver.Chrome) -> webdriver.Chrome:
    browser.get(stack.console_url)
    until(lambda: browser.find_element(By.ID, "connection").text == "live" or None)
    return browser


def until(found: Callable[[], T | None]) -> T:
    """`found()`'s first true value; a row replaced by a live update meanwhile is looked up
    again (the page redraws an event's row each time something about it changes)."""
    deadline = time.monotonic() + SHOWN_WITHIN_S
    while True:
        try:
            value = found()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the page did not show it in time")
        time.sleep(0.2)


def event_row(page: webdriver.Chrome, event_id: str) -> WebElement | None:
    rows = page.find_elements(By.CSS_SELECTOR, f'tr.event[data-event-id="{event_id}"]')
    return rows[0] if rows else None


def cell(page: webdriver.Chrome, event_id: str, name: str) -> str | None:
    row = event_row(page, event_id)
    return None if row is None else str(row.find_element(By.CSS_SELECTOR, f"td.{name}").text)


def details_of(page: webdriver.Chrome, event_id: str) -> str:
    """The text of an event's details, opened as a user would."""

    def opened() -> str | None:
        more = page.find_element(By.CSS_SELECTOR, f'tr.more-row[data-details-for="{event_id}"]')
        details = more.find_element(By.TAG_NAME, "details")
        if details.get_attribute("open") is None:
            details.find_element(By.TAG_NAME, "summary").click()
            return None
        return str(more.text)

    return until(opened)


def whole_page(page: webdriver.Chrome) -> str:
    text: str = page.execute_script("return document.documentElement.outerHTML")
    return text


def console_json(stack: RunningStack) -> str:
    with urllib.request.urlopen(stack.console_url + "api/events", timeout=10) as answer:
        return str(answer.read().decode("utf-8"))


def test_an_accepted_event_shows_by_its_event_id_with_what_the_worker_did(
    stack: RunningStack, page: webdriver.Chrome
) -> None:
    page.find_element(By.CSS_SELECTOR, 'button.send[data-type="EVENT_911"]').click()
    answer: dict[str, Any] = until(
        lambda: (
            json.loads(page.find_element(By.ID, "result").text or "null")
            if page.find_element(By.ID, "result").text.startswith("{")
            else None
        )
    )
    assert answer["status"] == 200
    event_id = answer["answer"]["id"]
    until(lambda: cell(page, event_id, "worker") == "log ok" or None)
    assert cell(page, event_id, "outcome") == "accepted"
    assert cell(page, event_id, "type") == "EVENT_911"
    assert cell(page, event_id, "routes") == "publish"
    details = details_of(page, event_id)
    assert '"callId": 318' in details  # the canonical data
    assert "log (worker): ok" in details


def test_a_quarantined_event_shows_with_its_reason_and_problems(
    stack: RunningStack, page: webdriver.Chrome
) -> None:
    assert post(stack.event_url, envelope(data={"call": {"caller": "x"}}), 30)[0] == 422

    def first_quarantined() -> str | None:
        rows = page.find_elements(By.CSS_SELECTOR, "tr.event.quarantined")
        return rows[0].get_attribute("data-event-id") if rows else None

    event_id = until(first_quarantined)
    until(lambda: cell(page, event_id, "outcome") == "quarantined: invalid_event" or None)
    assert cell(page, event_id, "type") == "EVENT_911"
    details = details_of(page, event_id)
    assert "data.call.callId: Field required" in details
    assert '"caller": "x"' in details  # the data as sent


def test_requests_refused_before_the_key_are_counted_and_never_shown(
    stack: RunningStack, page: webdriver.Chrome
) -> None:
    body = envelope(key="not-the-key", data={"call": {"callId": 1, "caller": "refused-body"}})
    assert post(stack.event_url, body, 30)[0] == 401
    until(
        lambda: (
            "401 unauthorized" in page.find_element(By.CSS_SELECTOR, "#refused tbody").text or None
        )
    )
    assert "refused-body" not in whole_page(page)


def test_hostile_event_text_is_shown_as_text_never_run(
    stack: RunningStack, page: webdriver.Chrome
) -> None:
    data = {"call": {"callId": 7, "caller": HOSTILE, "description": HOSTILE}}
    status, _, answer = post(stack.event_url, envelope(data=data), 30)
    assert status == 200
    event_id = json.loads(answer)["id"]
    until(lambda: event_row(page, event_id))
    assert HOSTILE in details_of(page, event_id)  # shown, as text
    assert page.title != "pwned"
    assert page.find_elements(By.CSS_SELECTOR, "#events img, #events script") == []


def test_the_key_appears_nowhere_in_the_page_or_the_console_data(
    stack: RunningStack, page: webdriver.Chrome
) -> None:
    # An event that carries the key inside its data as well as in `key`.
    data = {"call": {"callId": 9, "caller": f"key is {TEST_KEY}"}}
    status, _, answer = post(stack.event_url, envelope(data=data), 30)
    assert status == 200
    event_id = json.loads(answer)["id"]
    until(lambda: event_row(page, event_id))
    details_of(page, event_id)
    assert TEST_KEY.lower() not in whole_page(page).lower()
    assert TEST_KEY.lower() not in console_json(stack).lower()
    assert TEST_KEY not in stack.output()
