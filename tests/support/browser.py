"""Debian's headless chromium, driven through chromium-driver by selenium.

`require_browser()` is a failure under `CI=true` and a skip elsewhere, with the reason, when
either is missing (.ci/run installs both). `headless_chromium(tmp_path)` gives a driver with
a new profile directory and nothing that calls out (sync, updates, background networking).
A page holding a live stream never finishes loading, so pages are opened `eager` (once the
DOM is built) and read over the driver.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.emulator import require

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def browser_problem() -> str | None:
    if shutil.which("chromium") is None:
        return "chromium is not installed (Debian: chromium)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (Debian: chromium-driver)"
    return None


def require_browser() -> None:
    require(browser_problem(), "a browser")


@contextmanager
def headless_chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.page_load_strategy = "eager"
    service = Service(executable_path=str(shutil.which("chromedriver")))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
