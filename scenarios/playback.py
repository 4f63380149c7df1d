"""What the archive lacks, and getting it from the onboard recorder.

Everything a satellite produces out of contact reaches the ground only by recorder playback.
Sequence counts say exactly what is missing from each stream, but they are 14 bits: a stream at
a few packets a second wraps in hours, so the count between two archived packets is resolved
with their times (how many wraps the time between them allows, at the stream's own rate).
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from common.packets import SEQ_COUNT_MODULO
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import CheckFailed, CommandHandle, GroundError
from ground.protocol import FINAL_STATES
from scenarios.mission import Mission


@dataclass(frozen=True)
class Holes:
    """Sequence counts missing from a satellite's streams within a span of the archive."""

    by_apid: dict[int, int]
    archived: int
    #: From the last packet archived before the first hole to the first after the last one.
    span: tuple[float, float] | None = None

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


#: Simulated seconds by which a packet's stamp may stray from its place in its stream (a report
#: sent late, by a busy machine at a high rate, after an event raised meanwhile).
REORDER_S = 120.0


def _streams(archive: Archive, satellite: str, start: float, end: float,
             realtime_only: bool = False) -> dict[int, list[tuple[int, float]]]:
    streams: dict[int, list[tuple[int, float]]] = defaultdict(list)
    only = " AND vc = 0" if realtime_only else ""
    for apid, seq, time in archive.query(
            "SELECT apid, seq, time FROM packets WHERE satellite = ? AND time BETWEEN ? AND ?"
            f"{only} ORDER BY apid, time, id", satellite, start, end):
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


def stream_periods(archive: Archive, satellite: str) -> dict[int, float | None]:
    """Each stream's mean simulated seconds per packet, from everything archived."""
    return {apid: _period(points) for apid, points in
            _streams(archive, satellite, float("-inf"), float("inf")).items()}


def holes(archive: Archive, satellite: str, start: float, end: float,
          realtime_only: bool = False, periods: dict[int, float | None] | None = None
          ) -> Holes:
    """Packets missing from each stream between its first and last sequence count archived
    with a time in [start, end] (counting only what came down in real time, if asked: what the
    archive lacked before any playback).

    Packet times need not follow sequence counts (a report is stamped with the time it was
    due, an event with the time it was raised), so each stream is unwrapped packet by packet
    and the holes are the counts in its range that no archived packet holds — including one
    stamped just outside [start, end] (within ``REORDER_S``): at the span's edge, an event
    raised just after ``end`` may have been counted before a report due just before it, and
    is no hole. ``periods`` (from :func:`stream_periods`) saves reading the whole archive
    again to find each stream's rate.
    """
    if periods is None:
        periods = stream_periods(archive, satellite)
    by_apid: dict[int, int] = {}
    archived = 0
    first, last = float("inf"), float("-inf")
    for apid, points in _streams(archive, satellite, start - REORDER_S, end + REORDER_S,
                                 realtime_only).items():
        period = periods.get(apid)
        position = 0
        held = {position: points[0][1]}
        inside = [position] if start <= points[0][1] <= end else []
        for (s0, t0), (s1, t1) in itertools.pairwise(points):
            position += _advance(s0, t0, s1, t1, period)
            held.setdefault(position, t1)
            if start <= t1 <= end:
                inside.append(position)
        if not inside:
            continue
        archived += len(inside)
        low, high = min(inside), max(inside)
        ordered = sorted(p for p in held if low <= p <= high)
        by_apid[apid] = high - low + 1 - len(ordered)
        for below, above in itertools.pairwise(ordered):
            if above - below > 1:
                first = min(first, held[below], held[above])
                last = max(last, held[below], held[above])
    return Holes(by_apid, archived, (first, last) if first <= last else None)


def last_before(archive: Archive, satellite: str, time: float) -> float | None:
    """The time of the last packet that came down in real time before ``time``, on the stream
    that went silent first (None if none did)."""
    rows = archive.query(
        "SELECT apid, MAX(time) FROM packets WHERE satellite = ? AND time <= ? AND vc = 0 "
        "GROUP BY apid", satellite, time)
    return min((row[1] for row in rows), default=None)


async def live_after(mission: Mission, satellite: str, time: float, timeout: float
                     ) -> float | None:
    """Wait for housekeeping from ``satellite`` stamped after ``time`` to reach the ground;
    return its time (None if none came within ``timeout`` simulated seconds)."""

    async def first() -> float:
        async for _topic, message in mission.ground.subscribe(f"tm/{satellite}"):
            if message.get("satellite") == satellite and float(message["time"]) > time:
                return float(message["time"])
        raise AssertionError("the subscription ended")  # pragma: no cover

    try:
        return float(await mission.ground.wait_sim(first(), timeout,
                                                   f"{satellite}: live telemetry"))
    except CheckFailed:
        return None


async def poll(mission: Mission, test: Callable[[], bool | Awaitable[bool]], timeout: float,
               what: str, every_s: float = 60.0) -> bool:
    """Wait (simulated time, wall-guarded) until ``test()`` (which may be a coroutine function)
    is true, looking every ``every_s`` simulated seconds; return whether it became true within
    ``timeout``."""

    async def satisfied() -> None:
        while True:
            result = test()
            if await result if inspect.isawaitable(result) else result:
                return
            await mission.sleep(every_s)

    try:
        await mission.ground.wait_sim(satisfied(), timeout, what)
    except CheckFailed:
        return False
    return True


@dataclass(frozen=True)
class Playback:
    """What recorder playback recovered."""

    before: Holes
    after: Holes
    #: Packets the recorder held for the span (its first PLAYBACK_STARTED event); None if unseen.
    recorded: int | None
    #: Playbacks commanded (one more each time a pass ended before the archive was whole).
    attempts: int


#: Simulated seconds to let a playback that ended come down and be committed to the archive
#: (ground control commits every half wall second: 750 simulated seconds at 1500×).
SETTLE_S = 900.0
#: Simulated seconds after a span within which every stream has sent a packet (the slowest
#: housekeeping structure reports every 30 s).
ANCHOR_S = 300.0
#: Simulated seconds a playback command may take once sent: a pass that ends first takes its
#: completion report with it, and the command times out so that the next pass can try again.
PLAYBACK_TIMEOUT_S = 1800.0


async def play_back(mission: Mission, satellite: str, start: float, end: float,
                    deadline: float) -> Playback:
    """Play [start, end] back until the archive has no hole in it (or ``deadline``, simulated):
    a playback cut short by the end of a pass is commanded again, for what is still missing, at
    the next pass. Returns what the archive lacked before (counting what came down in real time
    only) and after; the expectations are the caller's."""
    archive = open_archive(mission)
    try:
        since, attempts = mission.now(), 0
        span: tuple[float, float] | None = (start, end)
        # Each stream's rate, read once: it takes the satellite's whole archive (0.17 s at the
        # end of first_light's day, on the runner's event loop) and hardly moves in a playback.
        periods = stream_periods(archive, satellite)
        current = holes(archive, satellite, start, end, periods=periods)
        while span is not None and mission.now() < deadline:
            first, last = span
            attempts += 1
            handle = await mission.ground.cmd(satellite, "HK.PLAYBACK", start=first, end=last,
                                              timeout=PLAYBACK_TIMEOUT_S)
            mission.note(f"{satellite}: playback {attempts} of {mission.iso(first)} to "
                         f"{mission.iso(last)} commanded")
            ended: list[float] = []

            async def settled(handle: CommandHandle = handle, ended: list[float] = ended) -> bool:
                if holes(archive, satellite, start, end, periods=periods).missing == 0:
                    return True
                if not ended:
                    with contextlib.suppress(GroundError, TimeoutError):
                        await handle.refresh()  # the update may have been missed
                    if handle.state in FINAL_STATES:
                        ended.append(mission.now())
                return bool(ended) and mission.now() - ended[0] > SETTLE_S

            await poll(mission, settled, max(60.0, deadline - mission.now()),
                       f"{satellite}: playback {attempts} to come down", every_s=120.0)
            # What came down may still be waiting to be read (a busy machine at a high rate):
            # count the holes once ground control has caught up.
            if not await mission.ground.caught_up():
                mission.note(f"{satellite}: ground control still behind after playback "
                             f"{attempts}")
            current = holes(archive, satellite, start, end, periods=periods)
            span = current.span if current.missing else None
        # Each stream's first packet after the span closes its holes: a few periods later.
        before = holes(archive, satellite, start, end + ANCHOR_S, realtime_only=True,
                       periods=periods)
        started = await mission.ground.events(satellite, since=since,
                                              name="HK.PLAYBACK_STARTED")
        recorded = int(started[0]["args"]["packets"]) if started else None
        return Playback(before, current, recorded, attempts)
    finally:
        archive.db.close()
