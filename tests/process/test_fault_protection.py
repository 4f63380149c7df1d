"""Fault protection on a live satellite: the command-loss timer, over-temperature, the table.

Each test launches one satellite (with its simulated hardware when physics is needed) at an
accelerated rate and talks to it only through its radio, as the ground would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.dictionary import DICTIONARY, GROUND_ID
from common.packets import TcPacket, encode
from scenarios.faults import inject
from tests.process.fleet import MARCH, Fleet, launch
from tests.process.groundside import GroundSide, Received, eventually, verification

pytestmark = pytest.mark.process


def event(name: str, **values: Any) -> Callable[[Received], bool]:
    """Matches the event ``name`` whose arguments include ``values``."""
    def match(r: Received) -> bool:
        return (r.tm is not None and r.tm.kind == "event" and r.tm.name == name
                and all(r.tm.values.get(k) == v for k, v in values.items()))
    return match


def outcome(ground: GroundSide, tc: TcPacket, start: int) -> tuple[int, int]:
    """The final verification report of ``tc``: (1, 7), (1, 2), (1, 4) or (1, 8)."""
    final = ground.wait_for(lambda r: any(verification(tc, s)(r) for s in (2, 4, 7, 8)),
                            since=start)
    return final.kind


def command(ground: GroundSide, name: str, **args: Any) -> tuple[int, int]:
    """Send from the test set (it does not count as contact with the ground)."""
    start = len(ground.received)
    return outcome(ground, ground.send(name, **args), start)


def command_as_ground(ground: GroundSide, name: str, **args: Any) -> tuple[int, int]:
    """Send as ground control does (source ID 1): contact for the command-loss timer."""
    definition = DICTIONARY.command(name)
    tc = DICTIONARY.encode_command(name, args, seq_count=ground.seq.next(definition.apid),
                                   source_id=GROUND_ID)
    start = len(ground.received)
    ground.send_raw(encode(tc))
    return outcome(ground, tc, start)


def report(ground: GroundSide, structure: str) -> dict[str, Any]:
    app, _, short = structure.partition(".")
    start = len(ground.received)
    ground.send(f"{app}.REPORT_HK", structure=short)
    return ground.wait_for(lambda r: r.tm is not None and r.tm.kind == "hk"
                           and r.tm.name == structure, since=start).tm.values


def _try(probe: Callable[[], Any]) -> Any:
    """``probe()``, or None when it found nothing yet (the hardware is still starting)."""
    try:
        return probe()
    except AssertionError:
        return None


@pytest.fixture
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    fleet = launch(tmp_path / "run", **getattr(request, "param", {}))
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.mark.parametrize("fleet", [dict(rate=100.0, with_sim=False)], indirect=True)
def test_command_loss_enters_safe_and_contact_restarts_the_timer(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    start = len(ground.received)
    # The shortest timeout allowed; setting it from the ground is itself a contact.
    assert command_as_ground(ground, "FP.SET_PARAM", param="COMMAND_LOSS_S",
                             value=60.0) == (1, 7)
    loss = ground.wait_for(event("FP.COMMAND_LOSS"), since=start, wall_s=30)
    assert loss.tm.values["age"] > 60.0
    fired = ground.wait_for(event("FP.ACTION_FIRED", event="FP.COMMAND_LOSS"), since=start)
    safe = ground.wait_for(event("FP.MODE_CHANGED"), since=start)
    assert safe.tm.values == {"old": "NOMINAL", "new": "SAFE", "cause": "COMMAND_LOSS"}
    assert ground.received.index(loss) < ground.received.index(fired) < \
        ground.received.index(safe)
    status = report(ground, "FP.STATUS")
    assert (status["FP.MODE"], status["FP.SHED_LEVEL"]) == ("SAFE", 3)
    assert status["FP.LAST_TC_AGE"] > 60.0
    eventually("compute shed", lambda: report(ground, "COMPUTE.STATUS")["COMPUTE.SHED_LEVEL"] == 3)
    # Operators bring it back; the ground's command is contact, and the timer runs again.
    again = len(ground.received)
    assert command_as_ground(ground, "FP.SET_MODE", mode="NOMINAL") == (1, 7)
    second = ground.wait_for(event("FP.COMMAND_LOSS"), since=again, wall_s=30)
    nominal = ground.wait_for(event("FP.MODE_CHANGED"), since=again)
    assert nominal.tm.values == {"old": "SAFE", "new": "NOMINAL", "cause": "COMMAND"}
    assert ground.received.index(nominal) < ground.received.index(second)
    ground.wait_for(event("FP.MODE_CHANGED", new="SAFE", cause="COMMAND_LOSS"), since=again)
    assert [r for r in ground.received[start:] if event("FP.COMMAND_LOSS")(r)] == [loss, second]


@pytest.mark.parametrize("fleet", [dict(epoch=MARCH, rate=500.0)], indirect=True)
def test_over_temperature_throttles_compute_then_powers_the_node_off(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    eventually("sensors", lambda: _try(lambda: report(ground, "HK.NODES")))
    # Thresholds are onboard parameters: lowered, the physics gets there in less time.
    assert command(ground, "FP.SET_PARAM", param="NODE_THROTTLE_C", value=50.0) == (1, 7)
    assert command(ground, "FP.SET_PARAM", param="NODE_OFF_C", value=65.0) == (1, 7)
    for job_id in range(1, 5):
        assert command(ground, "COMPUTE.SUBMIT_JOB", job={
            "id": job_id, "kind": "sha256-chain", "work": 50_000.0,
            "checkpoint_interval": 600}) == (1, 7)
    eventually("nodes busy", lambda: all(
        report(ground, "HK.NODES")[f"NODES.NODE{n}_STATE"] == "BUSY" for n in range(4)))
    start = len(ground.received)
    asyncio.run(inject(fleet.run, "SAT-01", "SIM.DEGRADE_RADIATOR", factor=0.05))
    hot = ground.wait_for(event("FP.NODE_HOT"), since=start, wall_s=60)
    node = hot.tm.values["node"]
    assert hot.tm.values["temp"] > 50.0
    ground.wait_for(event("FP.ACTION_FIRED", event="FP.NODE_HOT"), since=start)
    degraded = ground.wait_for(event("FP.MODE_CHANGED"), since=start)
    assert degraded.tm.values == {"old": "NOMINAL", "new": "DEGRADED",
                                  "cause": "OVER_TEMPERATURE"}
    # Throttled: no work anywhere, every node idle (but powered, and still heating).
    eventually("compute throttled", lambda: report(ground, "COMPUTE.STATUS")[
        "COMPUTE.SHED_LEVEL"] == 1)
    eventually("nodes idle", lambda: all(
        report(ground, "HK.NODES")[f"NODES.NODE{n}_STATE"] == "IDLE" for n in range(4)))
    off = ground.wait_for(event("FP.NODE_OVERHEAT", node=node), since=start, wall_s=90)
    assert off.tm.values["temp"] > 65.0
    assert ground.received.index(hot) < ground.received.index(off)
    ground.wait_for(event("FP.ACTION_FIRED", event="FP.NODE_OVERHEAT"), since=start)
    eventually(f"node {node} off",
               lambda: report(ground, "HK.NODES")[f"NODES.NODE{node}_STATE"] == "OFF")
    status = report(ground, "FP.STATUS")
    assert status["FP.MODE"] == "DEGRADED" and status["FP.ACTIONS_FIRED"] >= 2


@pytest.mark.parametrize("fleet", [dict(rate=50.0, with_sim=False)], indirect=True)
def test_a_definition_added_by_command_reacts_to_another_apps_event(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    restart = [{"tc": "EXEC.START_APP", "args": {"app": "$app"}}]
    assert command(ground, "FP.ADD_ACTION", event="EXEC.APP_STOPPED", actions=restart) == (1, 7)
    assert command(ground, "FP.ENABLE_ACTION", event="EXEC.APP_STOPPED") == (1, 7)
    assert command(ground, "FP.DELETE_ACTION", event="EXEC.APP_STOPPED") == (1, 4)
    start = len(ground.received)
    assert command(ground, "EXEC.STOP_APP", app="COMPUTE") == (1, 7)
    stopped = ground.wait_for(event("EXEC.APP_STOPPED", app="COMPUTE"), since=start)
    fired = ground.wait_for(event("FP.ACTION_FIRED", event="EXEC.APP_STOPPED"), since=start)
    started = ground.wait_for(event("EXEC.APP_STARTED", app="COMPUTE"), since=start, wall_s=20)
    order = [ground.received.index(x) for x in (stopped, fired, started)]
    assert order == sorted(order)
    begin = len(ground.received)
    ground.send("FP.REPORT_ACTIONS")
    table = ground.wait_for(lambda r: r.kind == (19, 7), since=begin).tm.values["definitions"]
    mine = next(d for d in table if d["event"] == "EXEC.APP_STOPPED")
    assert mine["enabled"] and mine["fired"] == 1 and mine["actions"] == restart
    assert command(ground, "FP.DISABLE_ACTION", event="EXEC.APP_STOPPED") == (1, 7)
    assert command(ground, "FP.DELETE_ACTION", event="EXEC.APP_STOPPED") == (1, 7)
    status = report(ground, "FP.STATUS")
    assert status["FP.DEFINITIONS"] == len(table) - 1
