"""What start-up and the first publish build is made without the collector, then frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sonoran_receiver.long_lived import built_for_good


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_nothing_is_collected_while_building_and_the_collector_is_as_before(
    enabled: bool,
) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    with built_for_good():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_what_was_built_is_frozen_out_of_later_collections() -> None:
    gc.unfreeze()
    with built_for_good():
        built = [{"model": index} for index in range(1000)]
    assert gc.get_freeze_count() >= len(built)
    with pytest.raises(RuntimeError), built_for_good():
        raise RuntimeError("a failed start")
    assert gc.isenabled()
