"""First light: commission four satellites, run real jobs, bring the results home, and ride
out a fault.

* At each satellite's first contact: ping every app and check that housekeeping flows (the
  satellites are commissioned side by side, each in its own first pass).
* Submit SHA-256 jobs to every satellite; results come down across contacts and are checked
  against an independent computation on the ground.
* Degrade SAT-02's radiator (a test-set fault): its busy node overheats, fault protection
  throttles compute (a node past its overheat limit would be powered off) and enters DEGRADED;
  the radiator is mended on the test set, and operators command NOMINAL, which lifts the shed.
* Dump every satellite's recorder every four hours, at its next pass, so that the archive (and
  the report) holds what each did out of contact — most of SAT-02's fault — not only what came
  down in passes.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from flight.compute.jobs import expected_result
from scenarios.faults import inject
from scenarios.mission import Mission
from scenarios.playback import Playback, play_back

CONFIG = "first_light.toml"
APPS = ("EXEC", "HK", "COMPUTE", "FP")
JOB_WORK_NODE_S = 1800.0
RESULT_BYTES = 32 * 1024
#: Every satellite's recorder is dumped this often (simulated seconds), at its next pass, and
#: once more LAST_DUMP_S before the end of the day: the archive then holds each satellite's day,
#: brought down a few hours at a time. (All of it late in the day was more than ground control
#: could ingest before the day ended, at 600x.)
DUMP_EVERY_S = 4 * 3600.0
LAST_DUMP_S = 2.5 * 3600.0
#: The longest a satellite of this constellation goes without a station (~7 h, once a day).
MAX_CONTACT_GAP_S = 8 * 3600.0


async def commission(mission: Mission, satellite: str) -> None:
    """Ping every app and check housekeeping, in the satellite's first contact."""
    ground = mission.ground
    passes = await ground.passes(satellite, start=mission.now())
    pings = [await ground.cmd(satellite, f"{app}.PING", timeout=900) for app in APPS]
    for handle in pings:
        await handle.await_complete(timeout=12 * 3600)
    mission.expect(all(h.is_success() for h in pings),
                   f"{satellite}: every app answers its first ping")
    await mission.check(satellite, "EPS.BATTERY_SOC > 20", 6 * 3600,
                        f"{satellite}: housekeeping flows, battery healthy")
    first = first_contact(passes)
    mission.expect(first is not None and mission.now() <= first[1],
                   f"{satellite}: commissioned in its first contact",
                   f"first contact {mission.iso(first[0])} to {mission.iso(first[1])}"
                   if first else "no contact predicted")
    mission.note(f"{satellite} commissioned")


def first_contact(passes: list[dict[str, Any]]) -> tuple[float, float] | None:
    """(start, end) of the first contact: the first window and those that overlap it, one after
    the other (the stations' windows of one pass overlap)."""
    if not passes:
        return None
    start, end = passes[0]["aos"], passes[0]["los"]
    for window in passes[1:]:
        if window["aos"] > end:
            break
        end = max(end, window["los"])
    return start, end


async def satellite_day(mission: Mission, index: int, satellite: str,
                        jobs: dict[int, tuple[str, str]]) -> None:
    """One satellite's day up to the fault: commissioning at its first contact, then its jobs
    (and, on SAT-02, the fault). The satellites go through it side by side."""
    await commission(mission, satellite)
    for slot in range(2):
        job_id = 100 * (index + 1) + slot
        seed = f"first-light-{job_id}"
        jobs[job_id] = (satellite, seed)
        await mission.complete(satellite, "COMPUTE.SUBMIT_JOB",
                               f"{satellite}: job {job_id} accepted", job={
                                   "id": job_id, "kind": "sha256-chain",
                                   "work": JOB_WORK_NODE_S, "priority": 100 + slot,
                                   "checkpoint_interval": 300, "seed": seed,
                                   "output_size": RESULT_BYTES})
    if satellite == "SAT-02":
        # A long, low-priority job keeps a node busy; then the fault: SAT-02's radiator
        # loses most of its emissivity while it works.
        await mission.complete(satellite, "COMPUTE.SUBMIT_JOB", "SAT-02: load job accepted",
                               job={"id": 299, "kind": "sha256-chain", "work": 8 * 3600.0,
                                    "priority": 10, "checkpoint_interval": 600})
        await inject(mission.run, "SAT-02", "SIM.DEGRADE_RADIATOR", factor=0.15)
        mission.note("SAT-02 radiator degraded to 15 %")


async def dump_recorder(mission: Mission, satellite: str) -> tuple[float, list[Playback]]:
    """Dump the recorder every DUMP_EVERY_S and LAST_DUMP_S before the end: play back what it
    took since the archive was last whole (until the archive has no hole in it, or the day is
    nearly over); returns how far the archive is whole, and every dump."""
    last = mission.end - LAST_DUMP_S
    times, due = [], mission.start + DUMP_EVERY_S
    while due < last - DUMP_EVERY_S / 2:  # none within half an interval of the last
        times.append(due)
        due += DUMP_EVERY_S
    whole_until, dumps = mission.start, []
    for due in [*times, last]:
        await mission.until(max(due, mission.now()))
        upto = mission.now()
        dump = await play_back(mission, satellite, whole_until, upto,
                               deadline=min(upto + MAX_CONTACT_GAP_S, mission.end - 900))
        dumps.append(dump)
        if dump.after.missing == 0 and dump.after.archived > 0:
            whole_until = upto
    return whole_until, dumps


async def play(mission: Mission) -> None:
    jobs: dict[int, tuple[str, str]] = {}
    recorders = [asyncio.ensure_future(dump_recorder(mission, satellite))
                 for satellite in mission.satellites]
    try:
        await fault_and_recovery(mission, jobs)
        dumped = await asyncio.gather(*recorders)
    finally:
        for task in recorders:
            task.cancel()
        await asyncio.gather(*recorders, return_exceptions=True)
    # Every recorder has been coming down a few hours at a time (most of SAT-02's fault too):
    # the archive is whole up to the last dump only if every dump before it filled its span.
    for satellite, (upto, dumps) in zip(mission.satellites, dumped, strict=True):
        mission.expect(upto >= mission.end - LAST_DUMP_S,
                       f"{satellite}: the recorder's dumps filled the day",
                       f"up to {mission.iso(upto)} in {len(dumps)} dumps; "
                       + ", ".join(f"{d.before.missing} missing before, {d.after.missing} after"
                                   for d in dumps))
    await results_home(mission, jobs)


async def fault_and_recovery(mission: Mission, jobs: dict[int, tuple[str, str]]) -> None:
    """Every satellite's day up to its jobs, SAT-02's fault, and the operators' recovery."""
    async with asyncio.TaskGroup() as group:  # one that fails stops the others
        for index, satellite in enumerate(mission.satellites):
            group.create_task(satellite_day(mission, index, satellite, jobs))
    await mission.check("SAT-02", "FP.MODE == DEGRADED", 8 * 3600,
                        "SAT-02: fault protection degrades on over-temperature")
    # Events raised out of contact reach the ground only by playback; counters come down in
    # every housekeeping report.
    await mission.check("SAT-02", "FP.ACTIONS_FIRED >= 1", 6 * 3600,
                        "SAT-02: fault protection acted (nodes throttled or powered off)")
    await inject(mission.run, "SAT-02", "SIM.DEGRADE_RADIATOR", factor=1.0)
    await mission.sleep(1800)  # let it cool
    await mission.complete("SAT-02", "FP.SET_MODE", "SAT-02: NOMINAL commanded", mode="NOMINAL")
    await mission.check("SAT-02", "FP.MODE == NOMINAL", 6 * 3600,
                        "SAT-02: operators bring it back to NOMINAL")
    await mission.check("SAT-02", "COMPUTE.SHED_LEVEL == 0", 6 * 3600,
                        "SAT-02: compute takes work again (NOMINAL lifted the shed)")


async def results_home(mission: Mission, jobs: dict[int, tuple[str, str]]) -> None:
    """The results have come home across contacts: each checks out against the ground's own
    computation."""
    await mission.until(mission.end - 600)
    transfers = {(t["satellite"], t["job_id"]): t for t in await mission.ground.transfers()}
    for job_id, (satellite, seed) in sorted(jobs.items()):
        transfer = transfers.get((satellite, job_id))
        ok = False
        if transfer is not None and transfer["state"] in ("VERIFIED", "CONFIRMED"):
            with open(transfer["path"], "rb") as handle_file:
                got = hashlib.sha256(handle_file.read()).digest()
            want = hashlib.sha256(expected_result(seed, JOB_WORK_NODE_S, RESULT_BYTES)).digest()
            ok = got == want
        state = transfer["state"] if transfer else "not started"
        mission.expect(ok, f"{satellite}: job {job_id} result downlinked and verified", state)
    await mission.until_end()
