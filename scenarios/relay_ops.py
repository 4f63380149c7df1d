"""Relay operations: reach a satellite no station sees, through the relays and the laser links.

* Wait until the whole train is out of sight of every station; command SAT-03 anyway — the
  command goes up through a geostationary relay — and receive its telemetry the same way.
* Lose the relay in use (announced by its operator): the network falls back to another way —
  another relay, or a neighbour's laser link — and commanding carries on.
* Run a real job on SAT-03 and bring the result home through the relays, checked on the ground
  against an independent computation; the archive shows the way each piece came down.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from common.dictionary import DICTIONARY
from flight.compute.jobs import expected_result
from scenarios.mission import Mission
from scenarios.playback import open_archive, poll

CONFIG = "relay_ops.toml"
TARGET = "SAT-03"
WORK_NODE_S = 300.0
RESULT_BYTES = 16 * 1024
#: Everything below happens in one stretch with no station in sight: this long at least.
OUT_OF_SIGHT_S = 45 * 60.0


async def out_of_station_sight(mission: Mission, satellite: str, for_s: float) -> dict | None:
    """Wait (simulated time, until the scenario's end at most) until no station sees any
    satellite, nor will for ``for_s``, while the network reaches ``satellite``; its status then
    (None if that never came)."""
    found: list[dict] = []

    async def out_of_sight() -> bool:
        now = mission.now()
        satellites = (await mission.ground.status())["satellites"]
        if all(s["station"] is None and (s["next_aos"] or now) - now >= for_s
               for s in satellites.values()) and satellites[satellite]["path"] is not None:
            found.append(satellites[satellite])
        return bool(found)

    await poll(mission, out_of_sight, mission.end - mission.now(), "the train out of sight")
    return found[0] if found else None


async def ping(mission: Mission, satellite: str) -> str:
    """Ping through ground control; the way the command took ("" if it never arrived)."""
    handle = await mission.ground.cmd(satellite, "EXEC.PING", timeout=600)
    await handle.await_complete(timeout=3600)
    return (handle.path or "") if handle.is_success() else ""


def chunk_routes(mission: Mission, satellite: str) -> Counter[str]:
    """How many result-file pieces came down each way."""
    report = DICTIONARY.apps["COMPUTE"].reports
    data = next(r for r in report if r.name == "COMPUTE.FILE_DATA")
    archive = open_archive(mission)
    try:
        rows = archive.query("SELECT station, COUNT(*) FROM packets WHERE satellite = ? AND "
                             "service = ? AND subtype = ? GROUP BY station", satellite,
                             data.service, data.subtype)
        return Counter({station: count for station, count in rows})
    finally:
        archive.db.close()


async def play(mission: Mission) -> None:
    ground = mission.ground
    status = await out_of_station_sight(mission, TARGET, OUT_OF_SIGHT_S)
    if not mission.expect(status is not None, "the train goes out of every station's sight"):
        return
    assert status is not None
    mission.note(f"no station sees the train; the network reaches {TARGET} via {status['path']}")

    path = await ping(mission, TARGET)
    mission.expect("TL-" in path, f"{TARGET}: commanded through a relay while no station sees it",
                   f"path {path}")
    before = await ground.tlm(TARGET, "EXEC.UPTIME") or 0
    uptime = await mission.check(TARGET, f"EXEC.UPTIME > {before + 60}", 1800,
                                 f"{TARGET}: fresh telemetry comes down through the relay path")
    seen = (await ground.status())["satellites"][TARGET]
    mission.expect(uptime is not None and seen["station"] is None,
                   f"{TARGET}: telemetry flows with no station in sight", f"via {seen['path']}")

    # The relay in use is lost for two hours; its operator tells us.
    used = next((hop for hop in path.split(">") if hop.startswith("TL-")), "TL-1")
    await ground.outage(used, mission.now(), mission.now() + 2 * 3600, announced=True)
    mission.note(f"{used} lost for two hours")
    fallback = await ping(mission, TARGET)
    mission.expect(bool(fallback) and used not in fallback.split(">"),
                   f"{TARGET}: routing falls back without {used}", f"path {fallback}")

    seed = "relay-ops-1"
    await mission.complete(TARGET, "COMPUTE.SUBMIT_JOB", f"{TARGET}: job accepted", job={
        "id": 1, "kind": "sha256-chain", "work": WORK_NODE_S, "priority": 100,
        "checkpoint_interval": 300, "seed": seed, "output_size": RESULT_BYTES})
    want = hashlib.sha256(expected_result(seed, WORK_NODE_S, RESULT_BYTES)).digest()
    finished: list[dict] = []

    async def transfer_done() -> bool:
        transfer = next((t for t in await ground.transfers(TARGET) if t["job_id"] == 1), None)
        if transfer is not None and transfer["state"] in ("VERIFIED", "CONFIRMED"):
            finished.append(transfer)
        return bool(finished)

    await poll(mission, transfer_done, 3 * 3600, f"{TARGET}: the result transfer")
    verified = finished[0] if finished else None
    got = None
    if verified is not None:
        with open(verified["path"], "rb") as result:
            got = hashlib.sha256(result.read()).digest()
    routes = chunk_routes(mission, TARGET)
    mission.expect(got == want, f"{TARGET}: the job's result came home and checks out",
                   f"{verified['state'] if verified else 'no transfer finished'}; pieces by way: "
                   + ", ".join(f"{way} {n}" for way, n in routes.most_common()))
    mission.expect(any("TL-" in way for way in routes),
                   f"{TARGET}: result pieces came down through a relay")
    await mission.until_end()
