"""Ground outage: every station of the network is out of service for hours.

The satellites keep producing telemetry and their recorders keep all of it. As soon as a
satellite's housekeeping reaches the ground again, the ground commands a playback of the span
from its last packet before the outage to its first after; a playback that a pass cuts short is
commanded again for what is still missing. The checks: what the archive lacked across the
outage (by sequence counts, stream by stream, counting what came down in real time), that every
gap is filled, and that the archive holds every packet the recorder had for the span.
"""

from __future__ import annotations

import asyncio

from ground.passes import network
from scenarios.mission import Mission
from scenarios.playback import last_before, live_after, open_archive, play_back

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
    """At the first contact after the outage: play back what is missing, check it all came."""
    archive = open_archive(mission)
    try:
        first = last_before(archive, satellite, start)
    finally:
        archive.db.close()
    back = await live_after(mission, satellite, end, mission.end - mission.now())
    if not mission.expect(first is not None and back is not None,
                          f"{satellite}: telemetry comes down again after the outage",
                          f"first after it stamped {mission.iso(back)}" if back else ""):
        return
    assert first is not None and back is not None
    result = await play_back(mission, satellite, first, back, deadline=mission.end - 60)
    mission.expect(result.before.missing > 0,
                   f"{satellite}: before playback the archive lacks packets across the outage",
                   str(result.before))
    mission.expect(result.after.missing == 0, f"{satellite}: playback filled every gap",
                   f"{result.after}; {result.attempts} playback(s)")
    mission.expect(result.recorded is not None and result.after.archived >= result.recorded,
                   f"{satellite}: the archive holds every packet the recorder had for the span",
                   f"{result.after.archived} archived, {result.recorded} recorded")
