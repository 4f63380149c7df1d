"""The collector policy of a process that is up (common.collector)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from common import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_settle_freezes_what_the_process_holds_and_collects_the_young_less_often(
        restored_collector: None) -> None:
    held = [[index] for index in range(100)]  # containers the collector tracks
    collector.settle()
    assert gc.get_freeze_count() >= len(held)
    assert gc.get_threshold() == (collector.YOUNG_ALLOCATIONS, collector.MIDDLE_EVERY,
                                  collector.OLD_EVERY)


def test_cycles_made_after_settling_are_still_collected_without_being_asked(
        restored_collector: None) -> None:
    collector.settle()
    assert gc.isenabled()

    class Node:
        partner: object = None

    collected: list[bool] = []
    first, second = Node(), Node()
    first.partner, second.partner = second, first
    weakref.finalize(first, collected.append, True)
    del first, second
    # Containers enough for the youngest generation to fill (and be collected) twice over.
    kept = [[] for _ in range(3 * collector.YOUNG_ALLOCATIONS)]
    assert collected == [True] and len(kept) == 3 * collector.YOUNG_ALLOCATIONS
