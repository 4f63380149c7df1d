"""Eclipse season: compute is shed at every eclipse entry and resumes at every exit.

Near the June solstice a dawn-dusk orbit crosses the Earth's shadow once a revolution. Four
long jobs keep every node busy; each needs half the mission's duration of node time, so they
finish only if compute comes back after each eclipse. In eclipse the power budget drops to what
the battery may give (one busy node): the lower-priority jobs are checkpointed and preempted,
the highest-priority one keeps its node.

Most of it happens out of contact, so what the passes happen to show live is only noted. The
verdict comes from the whole timeline: once the jobs are done (``COMPUTE.JOBS_DONE``, in every
housekeeping report), the recorder plays the mission back, and every eclipse, every job state
change and the battery are checked from the archive.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ground.client import CheckFailed
from scenarios.mission import Mission
from scenarios.playback import open_archive, play_back

CONFIG = "eclipse_season.toml"
SAT = "SAT-01"
JOBS = 4
#: Node-seconds per job, as a share of the mission's duration.
WORK_SHARE = 0.5
#: Simulated seconds after the eclipse is seen (ORBIT every 30 s) by which compute is shed; as
#: long before the last sample in shadow, compute may be back already (the compute manager reads
#: the sensors every few seconds, and sees the array's power return up to an ORBIT sample before
#: the ground's housekeeping says the sun is back)...
SHED_WITHIN_S = 60.0
#: ...and after the last sample in shadow by which the preempted jobs are back on their nodes.
RESUME_WITHIN_S = 120.0
#: Simulated time kept at the end for the playback to come down.
PLAYBACK_RESERVE_S = 3600.0
#: About one revolution at 750 km, seconds: the longest wait for the next pass.
ORBIT_S = 6000.0


async def play(mission: Mission) -> None:
    work = WORK_SHARE * mission.config.duration_h * 3600
    # All four go up together, in the first pass: one after the other, each waiting for its
    # verification, they could take several passes and leave the jobs too little time.
    await asyncio.gather(*(
        mission.complete(SAT, "COMPUTE.SUBMIT_JOB", f"job {job_id} accepted", job={
            "id": job_id, "kind": "sha256-chain", "work": work, "priority": 10 * job_id,
            "checkpoint_interval": 120, "seed": f"eclipse-{job_id}"})
        for job_id in range(1, JOBS + 1)))
    await mission.check(SAT, f"COMPUTE.NODES_BUSY >= {JOBS}", 4 * 3600,
                        "every node busy in sunlight")
    live = asyncio.ensure_future(watch_live(mission))
    try:
        # Job completions are counted in every housekeeping report, in contact or not.
        await mission.check(SAT, f"COMPUTE.JOBS_DONE >= {JOBS}",
                            max(60.0, mission.end - PLAYBACK_RESERVE_S - mission.now()),
                            "every job finished")
    finally:
        live.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await live
    # Everything else happened mostly out of contact: bring it down.
    result = await play_back(mission, SAT, mission.start, mission.now(),
                             deadline=mission.end - 300)
    mission.expect(result.after.missing == 0, "the recorder's playback filled the archive",
                   f"{result.before.missing} missing before, {result.after}; "
                   f"{result.attempts} playback(s)")
    archive = open_archive(mission)
    try:
        timeline = {name: archive.parameter(SAT, name) for name in (
            "ORBIT.SUNLIT", "COMPUTE.NODES_BUSY", "COMPUTE.JOBS_DONE", "EPS.BATTERY_SOC")}
        events = archive.events(SAT, name="COMPUTE.JOB_STATE")
    finally:
        archive.db.close()
    windows = judge_eclipses(mission, timeline)
    judge_jobs(mission, events, windows)
    soc = [value for _, value in timeline["EPS.BATTERY_SOC"]]
    mission.expect(bool(soc) and min(soc) > 30, "the battery stayed healthy through every eclipse",
                   f"lowest SOC {min(soc):.1f} %" if soc else "no battery readings")
    await mission.until_end()


async def watch_live(mission: Mission) -> None:
    """What the passes happen to show of an eclipse, live, as notes: whether a pass falls in
    the shadow, or just after it, is the orbit's luck, so the verdict is the archive's."""
    sightings = (("ORBIT.SUNLIT == 0", 4 * 3600, "the satellite in eclipse"),
                 ("COMPUTE.NODES_BUSY <= 1", 1800, "compute shed in eclipse"),
                 ("ORBIT.SUNLIT == 1", ORBIT_S, "the satellite back in sunlight"),
                 (f"COMPUTE.NODES_BUSY >= {JOBS}", ORBIT_S, "compute resumed after eclipse"))
    for condition, timeout, what in sightings:
        try:
            await mission.ground.wait_check(SAT, condition, timeout)
        except CheckFailed:
            mission.note(f"not seen live in a pass: {what}")
            return
        mission.note(f"seen live in a pass: {what}")


def eclipses(sunlit: list[tuple[float, Any]]) -> list[tuple[float, float]]:
    """(first sample in shadow, last sample in shadow) of every eclipse that ended."""
    found = []
    entry = last = None
    for time, value in sunlit:
        if not value:
            entry = time if entry is None else entry
            last = time
        elif entry is not None and last is not None:
            found.append((entry, last))
            entry = last = None
    return found


def _at(points: list[tuple[float, Any]], time: float, default: Any = 0) -> Any:
    """The last value reported at or before ``time``."""
    value = default
    for when, current in points:
        if when > time:
            break
        value = current
    return value


def judge_eclipses(mission: Mission, timeline: dict[str, list[tuple[float, Any]]]
                   ) -> list[tuple[float, float]]:
    """Every eclipse that came while jobs remained shed compute and gave it back; return
    those eclipses."""
    busy = timeline["COMPUTE.NODES_BUSY"]
    done = timeline["COMPUTE.JOBS_DONE"]
    worked = [(entry, leave) for entry, leave in eclipses(timeline["ORBIT.SUNLIT"])
              if _at(done, entry) < JOBS and busy and busy[0][0] < entry]
    mission.expect(bool(worked), "eclipses came while the jobs ran",
                   f"{len(worked)} eclipse(s) with work")
    for entry, leave in worked:
        when = f"eclipse of {mission.iso(entry)[11:16]}–{mission.iso(leave)[11:16]}"
        if leave - entry <= 2 * SHED_WITHIN_S:
            continue  # a grazing eclipse, too short to judge (the season's are ~17 min)
        inside = [n for t, n in busy if entry + SHED_WITHIN_S <= t <= leave - SHED_WITHIN_S]
        mission.expect(bool(inside) and max(inside) <= 1, f"compute shed in the {when}",
                       f"busy nodes in eclipse: {min(inside, default=None)}–"
                       f"{max(inside, default=None)}")
        remaining = JOBS - _at(done, leave)
        if remaining < 2:
            continue  # one job left: nothing was held back
        after = [n for t, n in busy if leave <= t <= leave + RESUME_WITHIN_S]
        mission.expect(max(after, default=0) >= min(JOBS, remaining),
                       f"compute resumed after the {when}",
                       f"busy nodes after: {max(after, default=None)}, jobs left {remaining}")
    return worked


def judge_jobs(mission: Mission, events: list[dict[str, Any]],
               windows: list[tuple[float, float]]) -> None:
    """The job state changes, all of them (live and played back)."""
    def in_eclipse(time: float) -> bool:
        # The compute manager sees the shadow up to one ORBIT sample before the ground does.
        return any(entry - 30.0 <= time <= leave for entry, leave in windows)

    preempted: set[int] = set()
    resumed: set[int] = set()
    done: set[int] = set()
    for event in events:
        job, state = int(event["args"]["job_id"]), event["args"]["state"]
        if state == "PREEMPTED" and in_eclipse(event["time"]):
            preempted.add(job)
        elif state == "RUNNING" and job in preempted:
            resumed.add(job)
        elif state == "DONE":
            done.add(job)
    lower = set(range(1, JOBS))
    mission.expect(preempted == lower, "the lower-priority jobs were preempted in eclipse",
                   f"preempted: {sorted(preempted)}")
    mission.expect(resumed == lower, "the preempted jobs ran again after the eclipse",
                   f"resumed: {sorted(resumed)}")
    mission.expect(JOBS not in preempted, "the highest-priority job kept its node in eclipse")
    mission.expect(done == set(range(1, JOBS + 1)), "every job's DONE event is archived",
                   f"done: {sorted(done)}")
