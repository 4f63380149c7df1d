"""Counting what the archive lacks: sequence counts across 14-bit wraps and out-of-time order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ground.archive import Archive
from scenarios.eclipse_season import eclipses
from scenarios.playback import holes, last_before

SAT = "SAT-01"
APID = 0x020


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    store = Archive(tmp_path / "archive.sqlite")
    yield store
    store.close()


def add(archive: Archive, seq: int, time: float, apid: int = APID) -> None:
    archive.add_packet(SAT, apid, seq % 16384, "TM", 3, 25, time, int(time), 0, time, 0, b"")


def stream(archive: Archive, first: int, count: int, start: float, period: float = 2.0,
           skip: range = range(0)) -> None:
    for k in range(count):
        if k not in skip:
            add(archive, first + k, start + k * period)


def test_a_contiguous_stream_has_no_holes(archive: Archive) -> None:
    stream(archive, 16000, 1000, 0.0)  # wraps once, nothing missing
    found = holes(archive, SAT, 0, 1e9)
    assert (found.missing, found.archived, found.span) == (0, 1000, None)


def test_holes_are_counted_exactly_and_located(archive: Archive) -> None:
    stream(archive, 0, 500, 0.0, skip=range(100, 137))
    stream(archive, 600, 10, 1200.0)  # and 100 more, missing between the two runs
    found = holes(archive, SAT, 0, 1e9)
    assert found.by_apid == {APID: 137}
    # what a playback must cover: from the packet before the first hole to the one after the last
    assert found.span == (198.0, 1200.0)


def test_a_gap_longer_than_the_sequence_count_is_counted_whole(archive: Archive) -> None:
    # 40,000 packets never came down: the count wrapped twice; times say how often.
    stream(archive, 0, 200, 0.0)
    stream(archive, 200 + 40_000, 200, (200 + 40_000) * 2.0)
    assert holes(archive, SAT, 0, 1e9).missing == 40_000


def out_of_order(archive: Archive) -> None:
    """Counts 0-21, every 2 s, but count 10 (an event raised at 20.7) went before count 11 (a
    report due at 20.0, sent after it)."""
    stream(archive, 0, 10, 0.0)
    add(archive, 11, 20.0)
    add(archive, 10, 20.7)
    stream(archive, 12, 10, 24.0)


def test_a_packet_stamped_out_of_order_is_no_hole(archive: Archive) -> None:
    out_of_order(archive)
    assert holes(archive, SAT, 0, 1e9).missing == 0


def test_a_packet_stamped_just_outside_the_span_still_fills_its_place(archive: Archive) -> None:
    # A span ending at 20.3 holds count 11 but not 10, and a span starting there holds 10 but
    # not 11. Neither is a hole: the archive has both (a playback of either span never adds one).
    out_of_order(archive)
    assert holes(archive, SAT, 0, 20.3).missing == 0
    assert holes(archive, SAT, 20.3, 1e9).missing == 0
    # and what is truly missing at an edge still counts: the span's last count held, 11, with
    # 10 not archived at all
    archive.db.execute("DELETE FROM packets WHERE seq = 10")
    assert holes(archive, SAT, 0, 20.3).by_apid == {APID: 1}


def test_before_playback_counts_what_came_down_in_real_time(archive: Archive) -> None:
    stream(archive, 0, 50, 0.0)
    stream(archive, 600, 50, 1200.0)
    assert last_before(archive, SAT, 500.0) == 98.0
    for k in range(50, 600):  # the playback comes
        archive.add_packet(SAT, APID, k, "TM", 3, 25, 2.0 * k, 2 * k, 0, 1300.0, 1, b"")
    assert holes(archive, SAT, 98.0, 1200.0).missing == 0
    assert holes(archive, SAT, 98.0, 1200.0, realtime_only=True).missing == 600 - 50


def test_eclipses_run_from_the_first_to_the_last_sample_in_shadow() -> None:
    sunlit = [(0, True), (30, False), (60, False), (90, True), (120, False)]
    assert eclipses(sunlit) == [(30, 60)]  # the last one has not ended
