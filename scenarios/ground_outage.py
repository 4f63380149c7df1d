"""Ground outage: every station of the network is out of service for hours.

The satellites keep producing telemetry and their recorders keep all of it. At each satellite's
first contact afterwards, the ground measures what its archive lacks across the outage (by
sequence counts, stream by stream), commands a playback of exactly that span, and checks that
the playback filled every gap and that the archive holds every packet the recorder had.
"""

from __future__ import annotations

import asyncio

from ground.passes import network
from scenarios.mission import Mission
from scenarios.playback import open_archive, play_back, poll, span_around

CONFIG = "ground_outage.toml"
#: The outage begins this long after the start...
OUTAGE_START_H = 2.0
#: ...and lasts this long, but at most half the mission (a shortened run, a shorter outage).
OUTAGE_H = 6.0
#: Simulated seconds for the link to take a station out after the request (in flight).
SETTLE_S = 60.0


async def play(mission: Mission) -> None:
    ground = mission.ground
    await mission.until(mission.start + OUTAGE_START_H * 3600)
    start = mission.now()
    end = start + min(OUTAGE_H, mission.config.duration_h / 2) * 3600
    for station in network(mission.run.stations):
        await ground.outage(station.name, start, end)
    mission.note(f"every station out of service for {(end - start) / 3600:g} h")
    lost = [p for p in await ground.passes(start=start, end=end)
            if p["aos"] < end and p["los"] > start]
    minutes = sum(min(p["los"], end) - max(p["aos"], start) for p in lost) / 60
    mission.expect(bool(lost), "the outage costs contact windows",
                   f"{len(lost)} windows, {minutes:.0f} min")
    await mission.until(end)
    archive = open_archive(mission)
    try:
        (received,) = archive.query(
            "SELECT COUNT(*) FROM packets WHERE vc = 0 AND received BETWEEN ? AND ?",
            start + SETTLE_S, end)[0]
    finally:
        archive.db.close()
    mission.expect(received == 0, "nothing came down during the outage",
                   f"{received} packets received")
    await asyncio.gather(*(recover(mission, satellite, start, end)
                           for satellite in mission.satellites))
    await mission.until_end()


async def recover(mission: Mission, satellite: str, start: float, end: float) -> None:
    """At the first contact after the outage: measure the holes, play them back, check."""
    archive = open_archive(mission)
    span: tuple[float, float] | None = None

    def came_down() -> bool:
        nonlocal span
        span = span_around(archive, satellite, start, end)
        return span is not None

    try:
        back = await poll(mission, came_down, mission.end - mission.now(),
                          f"{satellite}: telemetry after the outage")
    finally:
        archive.db.close()
    if not mission.expect(back and span is not None,
                          f"{satellite}: telemetry comes down again after the outage"):
        return
    assert span is not None
    first, last = span
    result = await play_back(mission, satellite, first, last,
                             timeout=max(600.0, mission.end - mission.now()))
    mission.expect(result.before.missing > 0,
                   f"{satellite}: before playback the archive lacks packets across the outage",
                   str(result.before))
    mission.expect(result.after.missing == 0, f"{satellite}: playback filled every gap",
                   str(result.after))
    mission.expect(result.recorded is not None and result.after.archived >= result.recorded,
                   f"{satellite}: the archive holds every packet the recorder had for the span",
                   f"{result.after.archived} archived, {result.recorded} recorded")
