"""First light: commission four satellites, run real jobs, bring the results home, and ride
out a fault.

* At each satellite's first contact: ping every app and check that housekeeping flows.
* Submit SHA-256 jobs to every satellite; results come down across contacts and are checked
  against an independent computation on the ground.
* Degrade SAT-02's radiator (a test-set fault): its nodes overheat, fault protection throttles
  and powers nodes off and enters DEGRADED; operators restore the radiator and command NOMINAL.
* Play SAT-02's recorder back over the whole day, so that the archive (and the report) holds
  what it did out of contact — most of the fault — not only what came down in passes.
"""

from __future__ import annotations

import hashlib

from flight.compute.jobs import expected_result
from scenarios.faults import inject
from scenarios.mission import Mission
from scenarios.playback import play_back

CONFIG = "first_light.toml"
APPS = ("EXEC", "HK", "COMPUTE", "FP")
JOB_WORK_NODE_S = 1800.0
RESULT_BYTES = 32 * 1024


async def commission(mission: Mission, satellite: str) -> None:
    ground = mission.ground
    pings = [await ground.cmd(satellite, f"{app}.PING", timeout=900) for app in APPS]
    for handle in pings:
        await handle.await_complete(timeout=12 * 3600)
    mission.expect(all(h.is_success() for h in pings),
                   f"{satellite}: every app answers its first ping")
    await mission.check(satellite, "EPS.BATTERY_SOC > 20", 6 * 3600,
                        f"{satellite}: housekeeping flows, battery healthy")


async def play(mission: Mission) -> None:
    ground = mission.ground
    satellites = list(mission.satellites)
    for satellite in satellites:
        await commission(mission, satellite)
    mission.note("every satellite commissioned")

    jobs: dict[int, tuple[str, str]] = {}
    for index, satellite in enumerate(satellites):
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

    # What SAT-02 did out of contact comes down from its recorder, pass by pass.
    result = await play_back(mission, "SAT-02", mission.start, mission.now(),
                             deadline=mission.end - 900)
    mission.expect(result.after.missing == 0, "SAT-02: the recorder's playback filled the day",
                   f"{result.before.missing} missing before, {result.after}; "
                   f"{result.attempts} playback(s)")

    # Results come home across contacts and check out.
    await mission.until(mission.end - 600)
    transfers = {(t["satellite"], t["job_id"]): t for t in await ground.transfers()}
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
