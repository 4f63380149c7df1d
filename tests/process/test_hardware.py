"""A satellite in its physical world: power, heartbeats, the recorder, malformed sensor data."""

from __future__ import annotations

import os
import signal
import time

import pytest
import zmq

from common import bus
from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.endpoints import Endpoints
from common.packets import TmPacket, encode
from common.runconfig import Timing
from tests.process.fleet import MARCH, Fleet, launch
from tests.process.groundside import GroundSide, Received, verification

pytestmark = pytest.mark.process


def event(name: str):
    return lambda r: r.tm is not None and r.tm.kind == "event" and r.tm.name == name


def hk(name: str):
    return lambda r: r.tm is not None and r.tm.kind == "hk" and r.tm.name == name


def report(ground: GroundSide, structure: str) -> dict:
    app, _, short = structure.partition(".")
    start = len(ground.received)
    ground.send(f"{app}.REPORT_HK", structure=short)
    return ground.wait_for(hk(structure), since=start).tm.values


def command(ground: GroundSide, name: str, **args) -> Received:
    start = len(ground.received)
    tc = ground.send(name, **args)
    return ground.wait_for(lambda r: verification(tc, 7)(r) or verification(tc, 8)(r)
                           or verification(tc, 2)(r), since=start)


FAST = Timing(heartbeat_timeout_wall_s=1.0)


def running_pid(ground: GroundSide, app: str) -> int:
    """The pid of a running app (never 0: os.kill(0, ...) would signal our own group)."""
    deadline = time.monotonic() + 20
    while True:
        values = report(ground, "EXEC.STATUS")
        pid = values[f"EXEC.{app}_PID"]
        if values[f"EXEC.{app}_STATE"] == "RUNNING" and pid > 0:
            return int(pid)
        assert time.monotonic() < deadline, f"{app} is not running: {values}"
        time.sleep(0.1)


@pytest.fixture
def fleet(request, tmp_path):
    options = getattr(request, "param", {})
    fleet: Fleet = launch(tmp_path / "run", **options)
    try:
        yield fleet
    finally:
        fleet.stop()


def sensors_flowing(ground: GroundSide) -> dict:
    """Wait until housekeeping reports hardware readings (the simulated hardware is up)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return report(ground, "HK.EPS")
        except AssertionError:
            time.sleep(0.2)
    raise AssertionError("no HK.EPS report: the simulated hardware never came up")


@pytest.mark.parametrize("fleet", [dict(
    epoch=MARCH, rate=400.0, timing=FAST,
    hardware={"array_area_m2": 1.5, "battery_capacity_wh": 400.0, "initial_soc": 0.40},
)], indirect=True)
def test_draining_battery_walks_degraded_then_safe_and_sheds_compute(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    sensors_flowing(ground)
    start = len(ground.received)
    for node in range(4):
        assert command(ground, "COMPUTE.SET_NODE_STATE", node=node, state="BUSY").kind == (1, 7)
    shed = ground.wait_for(lambda r: event("FP.ACTION_FIRED")(r)
                           and r.tm.values["event"] == "FP.BATTERY_LOW", since=start, wall_s=60)
    degraded = ground.wait_for(event("FP.MODE_CHANGED"), since=start, wall_s=60)
    assert degraded.tm.values == {"old": "NOMINAL", "new": "DEGRADED", "cause": "BATTERY_LOW"}
    safe = ground.wait_for(lambda r: event("FP.MODE_CHANGED")(r)
                           and r.tm.values["new"] == "SAFE", since=start, wall_s=90)
    assert safe.tm.values == {"old": "DEGRADED", "new": "SAFE", "cause": "BATTERY_CRITICAL"}
    order = [ground.received.index(x) for x in (shed, degraded, safe)]
    assert order == sorted(order)
    deadline = time.monotonic() + 20
    while True:
        nodes = report(ground, "HK.NODES")
        if all(nodes[f"NODES.NODE{i}_STATE"] == "OFF" for i in range(4)):
            break
        assert time.monotonic() < deadline, f"compute not shed: {nodes}"
        time.sleep(0.2)
    status = report(ground, "FP.STATUS")
    assert status["FP.MODE"] == "SAFE" and status["FP.SHED_LEVEL"] == 3
    assert report(ground, "COMPUTE.STATUS")["COMPUTE.SHED_LEVEL"] == 3
    # With compute off the battery recharges; operators then bring it back by command.
    deadline = time.monotonic() + 60
    while report(ground, "HK.EPS")["EPS.BATTERY_SOC"] < 35.0:
        assert time.monotonic() < deadline, report(ground, "HK.EPS")
        time.sleep(0.2)
    assert command(ground, "FP.SET_MODE", mode="NOMINAL").kind == (1, 7)
    assert report(ground, "FP.STATUS")["FP.MODE"] == "NOMINAL"
    assert report(ground, "COMPUTE.STATUS")["COMPUTE.SHED_LEVEL"] == 0


@pytest.mark.parametrize("fleet", [dict(rate=50.0, timing=FAST)], indirect=True)
def test_hung_app_is_found_by_fault_protection_and_restarted(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    sensors_flowing(ground)
    pid = running_pid(ground, "HK")
    start = len(ground.received)
    os.kill(pid, signal.SIGSTOP)  # alive but silent: only its heartbeat can tell
    try:
        lost = ground.wait_for(event("FP.HEARTBEAT_LOST"), since=start, wall_s=30)
        assert lost.tm.values["app"] == "HK"
        fired = ground.wait_for(event("FP.ACTION_FIRED"), since=start)
        assert fired.tm.values["event"] == "FP.HEARTBEAT_LOST"
        ground.wait_for(lambda r: event("EXEC.APP_STARTED")(r)
                        and r.tm.values["app"] == "HK", since=start, wall_s=20)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    while True:
        status = report(ground, "EXEC.STATUS")
        if status["EXEC.HK_STATE"] == "RUNNING" and status["EXEC.HK_PID"] != pid:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["EXEC.HK_RESTARTS"] == 1


@pytest.mark.parametrize("fleet", [dict(rate=50.0)], indirect=True)
def test_recorder_loses_nothing_when_housekeeping_is_killed(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    sensors_flowing(ground)
    t0 = fleet.clock.state.sim_at(time.time())
    for _ in range(2):
        pid = running_pid(ground, "HK")
        time.sleep(1.0)  # HK records and reports meanwhile (wall time: the stream is the point)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while report(ground, "EXEC.STATUS")["EXEC.HK_STATE"] != "RUNNING" or \
                report(ground, "EXEC.STATUS")["EXEC.HK_PID"] == pid:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    time.sleep(1.0)
    t1 = fleet.clock.state.sim_at(time.time())
    start = len(ground.received)
    done = command(ground, "HK.PLAYBACK", start=t0, end=t1)
    assert done.kind == (1, 7)
    finished = ground.wait_for(event("HK.PLAYBACK_DONE"), since=start)
    played = [r for r in ground.received[start:] if r.packet.time.to_unix() <= t1
              and r.packet.time.to_unix() >= t0]
    by_apid: dict[int, list[int]] = {}
    for item in played:
        by_apid.setdefault(item.packet.apid, []).append(item.packet.seq_count)
    hk_apid = DICTIONARY.apps["HK"].apid
    seqs = sorted(set(by_apid[hk_apid]))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "HK's stream has a hole"
    assert finished.tm.values["packets"] >= len(seqs)
    status = report(ground, "HK.STATUS")
    assert status["HK.RECORDER_GAPS"] == 0


@pytest.mark.parametrize("fleet", [dict(rate=20.0)], indirect=True)
def test_malformed_sensor_packets_are_counted_not_fatal(fleet: Fleet) -> None:
    ground = fleet.ground["SAT-01"]
    sensors_flowing(ground)
    before = report(ground, "HK.STATUS")["HK.PKT_REJECTED"]
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.connect(Endpoints(fleet.run).bus_in("SAT-01"))
    topic = bus.topic("SAT-01", bus.TM, DICTIONARY.apps["SIM"].apid)
    good = encode(TmPacket(DICTIONARY.apps["SIM"].apid, 3, 25, b"\x00\x63" + bytes(8), 1,
                           time=CucTime.from_unix(time.time())))  # unknown structure 99
    flipped = bytearray(good)
    flipped[-1] ^= 1
    try:
        deadline = time.monotonic() + 20
        while report(ground, "HK.STATUS")["HK.PKT_REJECTED"] < before + 2:
            assert time.monotonic() < deadline, "the malformed sensor packets were not counted"
            pub.send_multipart([topic, good])
            pub.send_multipart([topic, bytes(flipped)])
            time.sleep(0.1)
    finally:
        pub.close(0)
        context.term()
    ground.ping_until_alive("HK.PING")
    assert report(ground, "HK.EPS")["EPS.BATTERY_SOC"] >= 0
