"""Ground outage: every station is down for six hours; the recorder keeps what is produced,
and playback afterwards fills every gap in the archive."""

from __future__ import annotations

import itertools

from ground.archive import ARCHIVE_FILE, Archive
from ground.passes import network
from scenarios.mission import Mission

CONFIG = "ground_outage.toml"
OUTAGE_H = 6.0


def holes(mission: Mission, satellite: str, start: float, end: float) -> int:
    """Sequence counts missing from the archive, per stream, between two archived packets."""
    archive = Archive(mission.run.path / ARCHIVE_FILE, readonly=True)
    try:
        missing = 0
        apids = [r[0] for r in archive.query(
            "SELECT DISTINCT apid FROM packets WHERE satellite = ? AND time BETWEEN ? AND ?",
            satellite, start, end)]
        for apid in apids:
            seqs = [r[0] for r in archive.query(
                "SELECT seq FROM packets WHERE satellite = ? AND apid = ? AND time BETWEEN ? "
                "AND ? ORDER BY time", satellite, apid, start, end)]
            for before, after in itertools.pairwise(seqs):
                step = (after - before) % 16384
                if 1 < step < 8192:
                    missing += step - 1
        return missing
    finally:
        archive.db.close()


async def play(mission: Mission) -> None:
    ground = mission.ground
    await mission.sleep(3 * 3600)
    start = mission.now()
    end = start + OUTAGE_H * 3600
    for station in network(mission.run.stations):
        await ground.outage(station.name, start, end)
    mission.note(f"every station out of service for {OUTAGE_H:g} h")
    await mission.until(end + 60)
    for satellite in mission.satellites:
        before = holes(mission, satellite, start - 600, end)
        mission.expect(before > 0, f"{satellite}: the outage left holes in the archive",
                       f"{before} packets missing")
        await mission.complete(satellite, "HK.PLAYBACK", f"{satellite}: playback commanded",
                               start=start - 600, end=end)
    await mission.sleep(3 * 3600)  # the playback comes down at the next contacts
    for satellite in mission.satellites:
        left = holes(mission, satellite, start - 600, end)
        mission.expect(left == 0, f"{satellite}: playback filled every gap", f"{left} missing")
    await mission.until_end()
