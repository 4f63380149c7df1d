"""The collector policy of a process that is up (common.collector)."""

from __future__ import annotations

import gc
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


def test_cycles_made_after_settling_are_still_collected(restored_collector: None) -> None:
    collector.settle()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2
