"""The compute manager with its simulated hardware, all real processes: an upset rolls a job
back to its checkpoint and it still comes out right; eclipse entry preempts the lowest-priority
job with a checkpoint and it resumes after. The test talks to the satellite's radio directly
(no ground segment) and injects faults on its bus as a test set would; results come down as
FILE_DATA pieces and are checked against an independent SHA-256 computation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from common.orbits import Constellation, eclipse_intervals
from common.runconfig import Timing
from scenarios.faults import inject
from tests.process.fleet import JUNE, MARCH, Fleet, launch
from tests.process.groundside import GroundSide, Received, eventually, verification
from tests.unit.test_compute import independent_result

pytestmark = pytest.mark.process

#: No random upsets: the tests inject the ones they mean.
QUIET_HARDWARE = {"upsets_per_node_day": 0.0}
TIMING = Timing(sensor_interval_s=2.0)


def command(ground: GroundSide, name: str, **args: Any) -> Received:
    """Send a command and wait for its completion (or failure) report."""
    start = len(ground.received)
    tc = ground.send(name, **args)
    return ground.wait_for(lambda r: any(verification(tc, k)(r) for k in (2, 4, 7, 8)),
                           since=start)


def answer(ground: GroundSide, name: str, report: str, **args: Any) -> dict[str, Any]:
    """Send a command and return the values of the report it asks for."""
    start = len(ground.received)
    ground.send(name, **args)
    return ground.wait_for(lambda r: r.tm is not None and r.tm.name == report,
                           since=start).tm.values


def status(ground: GroundSide) -> dict[str, Any]:
    return answer(ground, "COMPUTE.REPORT_HK", "COMPUTE.STATUS", structure="STATUS")


#: Wall seconds a job's progress is awaited.
WALL_S = 60.0


def jobs(ground: GroundSide) -> dict[int, dict[str, Any]]:
    listed = answer(ground, "COMPUTE.LIST_JOBS", "COMPUTE.JOB_LIST")["jobs"]
    return {int(entry["id"]): entry for entry in listed}


def job_event(name: str, job_id: int, **values: Any) -> Callable[[Received], bool]:
    return lambda r: (r.tm is not None and r.tm.name == f"COMPUTE.{name}"
                      and r.tm.values.get("job_id") == job_id
                      and all(r.tm.values.get(k) == v for k, v in values.items()))


def downlink(ground: GroundSide, job_id: int) -> bytes:
    """The result file of ``job_id``, reassembled from the pieces that come down."""
    start = len(ground.received)
    assert command(ground, "COMPUTE.DOWNLINK_RESULT", job_id=job_id).kind == (1, 7)
    eof = ground.wait_for(job_event("FILE_EOF", job_id), since=start)
    data = bytearray(eof.tm.values["size"])
    for item in ground.received[start:]:
        if job_event("FILE_DATA", job_id)(item):
            piece = item.tm.values["data"]
            data[item.tm.values["offset"]:item.tm.values["offset"] + len(piece)] = piece
    return bytes(data)


def submit(ground: GroundSide, job_id: int, work: float, **extra: Any) -> None:
    reply = command(ground, "COMPUTE.SUBMIT_JOB", job={
        "id": job_id, "kind": "sha256-chain", "work": float(work), "seed": f"proc-{job_id}",
        **extra})
    assert reply.kind == (1, 7), reply


def readings_flowing(ground: GroundSide) -> dict[str, Any]:
    """Wait until the compute manager has a budget from the hardware's readings."""
    return eventually("a power budget from the hardware's readings",
                      lambda: (s := status(ground))["COMPUTE.BUDGET"] > 0 and s, WALL_S)


@pytest.fixture
def fleet(request, tmp_path):
    fleet: Fleet = launch(tmp_path / "run", hardware=QUIET_HARDWARE, timing=TIMING,
                          **request.param)
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.mark.parametrize("fleet", [dict(epoch=MARCH, rate=100.0)], indirect=True)
def test_an_injected_upset_rolls_a_job_back_to_its_checkpoint_and_it_still_completes_right(
        fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    readings_flowing(ground)
    start = len(ground.received)
    tc = ground.send("COMPUTE.SUBMIT_JOB", job={"id": 1, "kind": "sha256-chain", "work": -1})
    refusal = ground.wait_for(lambda r: verification(tc, 2)(r) or verification(tc, 1)(r),
                              since=start)
    assert (refusal.kind, refusal.tm.values["code"], refusal.tm.values["data"]) == \
        ((1, 2), "INVALID_JOB", 5), "refused at acceptance, the reason (OUT_OF_RANGE) as data"
    refused = ground.wait_for(lambda r: r.tm is not None and r.tm.name == "COMPUTE.JOB_REFUSED",
                              since=start)
    assert refused.tm.values == {"job_id": 1, "reason": "OUT_OF_RANGE", "field": "WORK"}
    submit(ground, 1, work=600, checkpoint_interval=100, output_size=3000)
    before = eventually("job 1 running, some way past a checkpoint", lambda: (
        (j := jobs(ground).get(1)) and j["state"] == "RUNNING" and j["checkpoint"] >= 100
        and j["done"] >= j["checkpoint"] + 20 and j), WALL_S)
    node = before["node"]
    start = len(ground.received)
    asyncio.run(inject(fleet.run, "SAT-01", "SIM.INJECT_UPSET", node=node))
    rolled = ground.wait_for(job_event("JOB_ROLLED_BACK", 1), since=start, wall_s=20)
    assert rolled.tm.values["lost"] > 0
    moved = eventually("job 1 running again", lambda: (
        (j := jobs(ground)[1]) and j["state"] == "RUNNING" and j["rollbacks"] == 1 and j),
        WALL_S)
    assert moved["node"] != node, "placed on another node while the upset one power-cycles"
    assert moved["done"] >= before["checkpoint"], "resumed from its checkpoint, not from zero"
    done = eventually("job 1 done", lambda: (j := jobs(ground)[1])["state"] == "DONE" and j,
                      WALL_S)
    assert done["rollbacks"] == 1
    assert done["lost"] == pytest.approx(rolled.tm.values["lost"], rel=1e-3)
    assert status(ground)["COMPUTE.WORK_LOST"] == pytest.approx(done["lost"], rel=1e-3)
    assert downlink(ground, 1) == independent_result("proc-1", 600, 3000)


ELEMENTS = Constellation(JUNE, per_plane=1).elements()[0]
ECLIPSES = eclipse_intervals(ELEMENTS, JUNE, 8, step_s=5)
RATE = 100.0


def fast_forward(fleet: Fleet, until: float, rate: float = 3 * RATE) -> None:
    """Run simulated time at ``rate`` until ``until``, then at the test's own rate again.

    Less than 4 × RATE: an app plans its next heartbeat at the rate of the moment, and fault
    protection would take one planned at a much higher rate, late once the rate drops, for a
    hung app.
    """
    clock = fleet.clock
    assert clock is not None
    if clock.state.sim_at(time.time()) >= until:
        return
    clock.set_rate(rate)
    deadline = time.monotonic() + 30 + 3 * (until - clock.state.sim_at(time.time())) / rate
    while clock.state.sim_at(time.time()) < until:
        assert time.monotonic() < deadline
        clock.republish_if_due()
        time.sleep(0.02)
    clock.set_rate(RATE)


@pytest.mark.parametrize("fleet", [dict(epoch=JUNE, rate=RATE, start=ECLIPSES[0][0] - 700)],
                         indirect=True)
def test_eclipse_entry_preempts_the_lowest_priority_job_with_a_checkpoint_and_it_resumes(
        fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    readings_flowing(ground)
    # A loaded machine may start the fleet slowly: take the next eclipse far enough ahead.
    now = fleet.clock.state.sim_at(time.time())
    entry, exit_at = next((a, b) for a, b in ECLIPSES if a - now > 200)
    fast_forward(fleet, entry - 300)
    now = fleet.clock.state.sim_at(time.time())
    # The high-priority job outlasts the eclipse; the low one is cut by it and resumes after.
    submit(ground, 1, work=exit_at - now + 150, priority=200, checkpoint_interval=300)
    submit(ground, 2, work=entry - now + 150, priority=10, checkpoint_interval=300)
    start = len(ground.received)
    eventually("both jobs running in sunlight", lambda: all(
        j["state"] == "RUNNING" for j in jobs(ground).values()), WALL_S)
    preempted = ground.wait_for(job_event("JOB_STATE", 2, state="PREEMPTED"), since=start,
                                wall_s=30)
    when = preempted.packet.time.to_unix()
    assert entry - 5 <= when <= entry + 120, f"preempted {when - entry:+.0f} s from entry"
    listed = jobs(ground)
    assert listed[2]["state"] == "PREEMPTED" and listed[1]["state"] == "RUNNING"
    assert listed[2]["checkpoint"] == listed[2]["done"] > 0, "checkpointed where it stopped"
    values = status(ground)
    assert values["COMPUTE.BUDGET_LIMIT"] == "POWER" and values["COMPUTE.NODES_BUSY"] == 1
    resumed = ground.wait_for(job_event("JOB_STATE", 2, state="RUNNING"),
                              since=ground.received.index(preempted) + 1, wall_s=30)
    assert resumed.packet.time.to_unix() >= exit_at - 5, "resumed only when the array came back"
    for job_id in (1, 2):
        ground.wait_for(job_event("JOB_STATE", job_id, state="DONE"), since=start, wall_s=30)
    states = [r.tm.values for r in ground.received[start:]
              if r.tm is not None and r.tm.name == "COMPUTE.JOB_STATE"]
    assert {"job_id": 1, "state": "PREEMPTED"} not in states, "the high priority kept running"
    final = jobs(ground)
    assert final[2]["lost"] == 0 and final[2]["rollbacks"] == 0
    for job_id, work in ((1, final[1]["work"]), (2, final[2]["work"])):
        assert downlink(ground, job_id) == independent_result(f"proc-{job_id}", work, 64)
