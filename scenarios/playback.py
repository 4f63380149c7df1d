"""What the archive lacks, and getting it from the onboard recorder.

Everything a satellite produces out of contact reaches the ground only by recorder playback.
Sequence counts say exactly what is missing from each stream, but they are 14 bits: a stream at
a few packets a second wraps in hours, so the count between two archived packets is resolved
with their times (how many wraps the time between them allows, at the stream's own rate).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from common.packets import SEQ_COUNT_MODULO
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import CheckFailed
from scenarios.mission import Mission


@dataclass(frozen=True)
class Holes:
    """Sequence counts missing from a satellite's streams within a span of the archive."""

    by_apid: dict[int, int]
    archived: int

    @property
    def missing(self) -> int:
        """Packets missing over every stream."""
        return sum(self.by_apid.values())

    def __str__(self) -> str:
        streams = ", ".join(f"APID 0x{apid:03X}: {n}" for apid, n in sorted(self.by_apid.items())
                            if n)
        return f"{self.missing} missing ({streams or 'none'}), {self.archived} archived"


def open_archive(mission: Mission) -> Archive:
    """The run's archive, read-only (ground control is its one writer)."""
    return Archive(mission.run.path / ARCHIVE_FILE, readonly=True)


def _streams(archive: Archive, satellite: str, start: float, end: float
             ) -> dict[int, list[tuple[int, float]]]:
    streams: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for apid, seq, time in archive.query(
            "SELECT apid, seq, time FROM packets WHERE satellite = ? AND time BETWEEN ? AND ? "
            "ORDER BY apid, time, id", satellite, start, end):
        streams[apid].append((seq, time))
    return streams


def _period(points: list[tuple[int, float]]) -> float | None:
    """Mean simulated seconds per packet, from consecutive packets that both came down."""
    spans = [t1 - t0 for (s0, t0), (s1, t1) in itertools.pairwise(points)
             if (s1 - s0) % SEQ_COUNT_MODULO == 1]
    return sum(spans) / len(spans) if spans and sum(spans) > 0 else None


def _advance(seq0: int, time0: float, seq1: int, time1: float, period: float | None) -> int:
    """How far the sequence count moved from one packet to the next (negative when the later
    packet in time was counted earlier): the step, modulo 14 bits, nearest to what the time
    between them allows at the stream's rate."""
    step = (seq1 - seq0) % SEQ_COUNT_MODULO
    expected = (time1 - time0) / period if period is not None else 0.0
    return step + SEQ_COUNT_MODULO * round((expected - step) / SEQ_COUNT_MODULO)


def holes(archive: Archive, satellite: str, start: float, end: float) -> Holes:
    """Packets missing from each stream between its first and last sequence count archived
    with a time in [start, end].

    Packet times need not follow sequence counts (a report is stamped with the time it was
    due, an event with the time it was raised), so each stream is unwrapped packet by packet
    and the holes are the counts in its range that no archived packet holds.
    """
    rate_points = _streams(archive, satellite, float("-inf"), float("inf"))
    by_apid: dict[int, int] = {}
    archived = 0
    for apid, points in _streams(archive, satellite, start, end).items():
        period = _period(rate_points[apid])
        archived += len(points)
        position = 0
        held = {position}
        for (s0, t0), (s1, t1) in itertools.pairwise(points):
            position += _advance(s0, t0, s1, t1, period)
            held.add(position)
        by_apid[apid] = max(held) - min(held) + 1 - len(held)
    return Holes(by_apid, archived)


def span_around(archive: Archive, satellite: str, start: float, end: float
                ) -> tuple[float, float] | None:
    """The span from the last packet archived before ``start`` to the first archived after
    ``end`` (over every stream that has both); None until every such stream has come down
    again after ``end``."""
    before: dict[int, float] = {}
    after: dict[int, float] = {}
    for apid, last in archive.query(
            "SELECT apid, MAX(time) FROM packets WHERE satellite = ? AND time <= ? GROUP BY apid",
            satellite, start):
        before[apid] = last
    for apid, first in archive.query(
            "SELECT apid, MIN(time) FROM packets WHERE satellite = ? AND time >= ? GROUP BY apid",
            satellite, end):
        after[apid] = first
    if not before or set(before) - set(after):
        return None
    return min(before.values()), max(after[apid] for apid in before)


async def poll(mission: Mission, test: Callable[[], bool], timeout: float, what: str,
               every_s: float = 60.0) -> bool:
    """Wait (simulated time, wall-guarded) until ``test()`` is true, looking every ``every_s``
    simulated seconds; return whether it became true within ``timeout``."""

    async def satisfied() -> None:
        while not test():
            await mission.sleep(every_s)

    try:
        await mission.ground.wait_sim(satisfied(), timeout, what)
    except CheckFailed:
        return False
    return True


@dataclass(frozen=True)
class Playback:
    """What a playback recovered."""

    before: Holes
    after: Holes
    #: Packets the recorder held for the span (its PLAYBACK_STARTED event); None if unseen.
    recorded: int | None


async def play_back(mission: Mission, satellite: str, start: float, end: float,
                    timeout: float = 6 * 3600) -> Playback:
    """Command a playback of [start, end] and wait until the archive has no hole in the span;
    return the holes before and after (the expectations are the caller's)."""
    archive = open_archive(mission)
    try:
        before = holes(archive, satellite, start, end)
        since = mission.now()
        await mission.complete(satellite, "HK.PLAYBACK",
                               f"{satellite}: playback of {mission.iso(start)} to "
                               f"{mission.iso(end)} commanded", start=start, end=end)
        await poll(mission, lambda: holes(archive, satellite, start, end).missing == 0,
                   timeout, f"{satellite}: playback to fill the archive")
        started = await mission.ground.events(satellite, since=since,
                                              name="HK.PLAYBACK_STARTED")
        recorded = int(started[-1]["args"]["packets"]) if started else None
        return Playback(before, holes(archive, satellite, start, end), recorded)
    finally:
        archive.db.close()
