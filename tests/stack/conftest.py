"""One running stack per module for the tests that only use it; stop tests start their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import require_emulator
from tests.support.stack import RunningStack, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    require_emulator()
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
