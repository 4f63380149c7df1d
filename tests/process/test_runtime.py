"""The app framework's standard behaviour on a real satellite: bad bus messages, housekeeping
controls, counters, and the executive's heartbeat watchdog.

Waits are on conditions (simulated time from the test's clock master, or telemetry arriving),
each with a wall-clock guard; nothing here asserts how long anything took.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from common import bus
from common.clock import ClockMaster
from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.endpoints import Endpoints
from common.packets import TcPacket, TmPacket, encode, encode_tm
from common.runconfig import RunConfig, Timing
from flight.framework.runtime import initial_clock_state
from tests.process.conftest import start_satellite, stop_tree
from tests.process.groundside import GroundSide, Received, verification
from tests.process.procs import alive, wait_gone

pytestmark = pytest.mark.process

SAT = "SAT-01"
#: Source ID of the telecommands these tests build by hand (a stream of its own).
SOURCE = 77
#: CUC fine time resolution is 2**-16 s; report times are due times, so spacing is exact.
EXACT_S = 1e-3


@dataclass
class Sat:
    """A satellite under test, with the clock master the test owns."""

    run: RunConfig
    pid: int
    ground: GroundSide
    clock: ClockMaster

    def sim_now(self) -> float:
        return self.clock.state.sim_at(time.time())


@pytest.fixture
def sat_factory(tmp_path: Path) -> Iterator[Callable[..., Sat]]:
    """Start a satellite at ``rate`` with ``timing``; everything is ended in the finally."""
    started: list[list[Any]] = []  # [process, context, master, ground], as they are made

    def start(rate: float = 50.0, timing: Timing | None = None) -> Sat:
        run, process = start_satellite(tmp_path / f"run{len(started)}", SAT, rate, timing)
        parts: list[Any] = [process]
        started.append(parts)  # stopped in the finally even if what follows fails
        context = zmq.Context()
        parts.append(context)
        master = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run),
                             run.run_dir)
        parts.append(master)
        ground = GroundSide(run, SAT)
        parts.append(ground)
        ground.ping_until_alive()
        sat = Sat(run, process.pid, ground, master)
        wait_status(sat, "EXEC", lambda v: v["EXEC.APPS_RUNNING"] == 3)
        return sat

    try:
        yield start
    finally:
        for process, *made in started:
            for part in reversed(made):  # the ground side, the clock master, the context
                if isinstance(part, zmq.Context):
                    part.destroy(0)
                else:
                    part.close()
            stop_tree(process)


# --- helpers -------------------------------------------------------------------------------------


def is_event(name: str) -> Callable[[Received], bool]:
    return lambda r: r.tm is not None and r.tm.kind == "event" and r.tm.name == name


def is_report(name: str) -> Callable[[Received], bool]:
    return lambda r: r.kind == (3, 25) and r.tm is not None and r.tm.name == name


def status(sat: Sat, app: str) -> dict[str, Any]:
    """Ask for ``app``'s STATUS structure now and return its values."""
    start = len(sat.ground.received)
    sat.ground.send(f"{app}.REPORT_HK", structure="STATUS")
    return sat.ground.wait_for(is_report(f"{app}.STATUS"), since=start).tm.values


def wait_status(sat: Sat, app: str, check: Callable[[dict[str, Any]], bool],
                wall_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + wall_s
    while True:
        values = status(sat, app)
        if check(values):
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"{app}.STATUS never satisfied the check; last: {values}")
        sat.ground.poll(0.1)


def wait_sim(sat: Sat, sim_time: float, wall_s: float = 10.0) -> None:
    """Receive telemetry until the run's simulated time reaches ``sim_time``."""
    deadline = time.monotonic() + wall_s
    while sat.sim_now() < sim_time:
        assert time.monotonic() < deadline, f"simulated time did not reach {sim_time}"
        sat.ground.poll(0.02)


def wait_count(sat: Sat, predicate: Callable[[Received], bool], count: int, since: int,
               wall_s: float = 10.0) -> list[Received]:
    """The first ``count`` packets from index ``since`` that match (all of them, in order)."""
    deadline = time.monotonic() + wall_s
    while True:
        found = [r for r in sat.ground.received[since:] if predicate(r)]
        if len(found) >= count:
            return found[:count]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} expected packets within {wall_s} s")
        sat.ground.poll(0.05)


def ping(app: str, seq: int) -> TcPacket:
    """A PING for ``app`` in this test's own telecommand stream."""
    return DICTIONARY.encode_command(f"{app}.PING", seq_count=seq, source_id=SOURCE)


def times(items: list[Received]) -> list[float]:
    return [item.packet.time.to_unix() for item in items]


class BusTap:
    """A publisher of the test's own on a satellite's bus: what a faulty app could send."""

    def __init__(self, run: RunConfig, satellite: str) -> None:
        endpoints = Endpoints(run)
        self.context = zmq.Context()
        self.pub = self.context.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 1000)
        self.pub.connect(endpoints.bus_in(satellite))
        # Readiness: our own probe comes back through the proxy, so the proxy's subscriptions
        # (sent to us, in order, before the probe's) are live on our socket.
        sub = self.context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        probe = bus.topic(satellite, bus.CTL, None, "PROBE", "TEST", uuid.uuid4().hex)
        sub.setsockopt(zmq.SUBSCRIBE, probe)
        sub.connect(endpoints.bus_out(satellite))
        deadline = time.monotonic() + 10.0
        try:
            while True:
                assert time.monotonic() < deadline, "the bus never echoed the test's probe"
                self.pub.send_multipart([probe, msgpack.packb({"probe": "TEST"})])
                if sub.poll(20):
                    break
        finally:
            sub.close()

    def send(self, topic: bytes, payload: bytes) -> None:
        self.pub.send_multipart([topic, payload])

    def close(self) -> None:
        self.context.destroy(1000)


# --- bus robustness ------------------------------------------------------------------------------


def test_bad_bus_messages_are_counted_and_the_messages_around_them_are_handled(
    sat_factory: Callable[..., Sat],
) -> None:
    sat = sat_factory()
    apid = DICTIONARY.apps["EXEC"].apid
    tc_topic = bus.topic(SAT, bus.TC, apid)
    good = [encode(ping("EXEC", seq)) for seq in range(6)]
    bad_crc = bytearray(good[2])
    bad_crc[-1] ^= 0x01
    # The executive takes a heartbeat's pid as an int: "x" makes its handler raise.
    bad_heartbeat = msgpack.packb({"app": "HK", "pid": "x", "seq": 1, "sim": 0.0})
    tap = BusTap(sat.run, SAT)
    start = len(sat.ground.received)
    try:
        tap.send(tc_topic, good[0])
        tap.send(bus.topic(SAT, bus.CTL, None, "HB", "HK"), bad_heartbeat)
        tap.send(tc_topic, good[1])
        tap.send(tc_topic, good[2] + bytes(bad_crc) + good[3])  # a bad packet inside a batch
        tap.send(tc_topic, good[4])
        tap.send(tc_topic, good[5])
        wait_count(sat, lambda r: r.kind == (17, 2) and r.packet.apid == apid, 6, since=start)
    finally:
        tap.close()
    values = wait_status(sat, "EXEC", lambda v: v["EXEC.PKT_REJECTED"] >= 2)
    # Six good pings, six answers: none lost around the bad messages, none answered twice.
    assert len([r for r in sat.ground.received[start:]
                if r.kind == (17, 2) and r.packet.apid == apid]) == 6
    assert values["EXEC.PKT_REJECTED"] == 2
    assert values["EXEC.SEQ_GAPS"] == 0
    assert values["EXEC.APPS_RUNNING"] == 3, "the bad heartbeat must not upset supervision"
    reasons = {r.tm.values["reason"] for r in sat.ground.received[start:]
               if is_event("EXEC.PACKET_REJECTED")(r)}
    assert reasons == {"BAD_MESSAGE", "CRC_MISMATCH"}
    sat.ground.ping_until_alive()


def test_the_radio_sends_a_telemetry_batch_down_whole_and_drops_only_its_bad_packets(
    sat_factory: Callable[..., Sat],
) -> None:
    # The executive passes a batch of an app's telemetry to the downlink without decoding it;
    # what fails its checks inside the batch is counted, and the good packets still go down.
    sat = sat_factory()
    apid = DICTIONARY.apps["HK"].apid
    marked = 99  # a destination no real report has: these packets are ours

    def tm(seq: int) -> bytes:
        return encode_tm(TmPacket(apid, 17, 2, b"", 1000 + seq, seq, marked,
                                  CucTime.from_unix(sat.sim_now())))

    bad_crc = bytearray(tm(1))
    bad_crc[-1] ^= 0x01
    wrong_type = encode(ping("HK", 5))
    tap = BusTap(sat.run, SAT)
    start = len(sat.ground.received)
    before = status(sat, "EXEC")["EXEC.PKT_REJECTED"]
    try:
        tap.send(bus.topic(SAT, bus.TM, apid), tm(0) + tm(1) + tm(2))  # whole
        tap.send(bus.topic(SAT, bus.TM, apid),
                 tm(3) + bytes(bad_crc) + tm(4) + wrong_type + tm(5) + b"\x00\x01\x02")
        ours = wait_count(sat, lambda r: r.packet.dest_id == marked, 6, since=start)
    finally:
        tap.close()
    assert [r.packet.msg_counter for r in ours] == [0, 1, 2, 3, 4, 5]
    values = wait_status(sat, "EXEC", lambda v: v["EXEC.PKT_REJECTED"] >= before + 3)
    assert values["EXEC.PKT_REJECTED"] == before + 3
    reasons = sorted(r.tm.values["reason"] for r in sat.ground.received[start:]
                     if is_event("EXEC.PACKET_REJECTED")(r))
    assert reasons == ["CRC_MISMATCH", "TOO_SHORT", "WRONG_PACKET_TYPE"]


# --- housekeeping controls and counters ----------------------------------------------------------


def test_hk_interval_disable_and_enable_change_periodic_reports(
    sat_factory: Callable[..., Sat],
) -> None:
    sat = sat_factory()
    ground = sat.ground
    report = is_report("FP.STATUS")
    changed = is_event("FP.HK_CHANGED")

    start = ground.command("FP.SET_HK_INTERVAL", structure="STATUS", interval=2.0)
    event = ground.wait_for(changed, since=start)
    assert event.tm.values == {"sid": 1, "enabled": 1, "interval": 2.0}
    after = ground.received.index(event)
    spaced = times(wait_count(sat, report, 3, since=after))
    assert [round(b - a, 3) for a, b in itertools.pairwise(spaced)] == [2.0, 2.0]

    start = ground.command("FP.DISABLE_HK", structure="STATUS")
    event = ground.wait_for(changed, since=start)
    assert event.tm.values == {"sid": 1, "enabled": 0, "interval": 2.0}
    disabled_at = event.packet.time.to_unix()
    wait_sim(sat, disabled_at + 5 * 2.0)  # five periods with generation off
    # FP answers in order: any report made before this ping's answer arrives before it.
    marker = ground.send("FP.PING")
    ground.wait_for(verification(marker, 7), since=start)
    late = [t for t in times([r for r in ground.received[start:] if report(r)])
            if t > disabled_at]
    assert late == [], f"FP.STATUS reported at {late} while disabled"

    start = len(ground.received)
    tc = ground.send("FP.ENABLE_HK", structure="STATUS")
    event = ground.wait_for(changed, since=start)
    assert event.tm.values == {"sid": 1, "enabled": 1, "interval": 2.0}
    resumed = times(wait_count(sat, report, 2, since=start))
    # Reports are due at whole multiples of their interval (simulated time): the first within
    # one interval of the enabling, the next one interval later.
    enabled_at = event.packet.time.to_unix()
    assert enabled_at < resumed[0] <= enabled_at + 2.0 + EXACT_S
    assert abs(resumed[0] - 2.0 * round(resumed[0] / 2.0)) < EXACT_S
    assert abs(resumed[1] - resumed[0] - 2.0) < EXACT_S
    ground.wait_for(verification(tc, 7), since=start)


def test_sequence_gaps_are_counted_and_reset_counters_clears_them(
    sat_factory: Callable[..., Sat],
) -> None:
    sat = sat_factory()
    ground = sat.ground
    apid = DICTIONARY.apps["FP"].apid
    start = len(ground.received)
    for seq in (0, 1, 5):  # 2, 3 and 4 never sent: three missing
        ground.send_raw(encode(ping("FP", seq)))
    gap = ground.wait_for(is_event("FP.SEQUENCE_GAP"), since=start)
    assert gap.tm.values == {"apid": apid, "missing": 3}
    wait_count(sat, lambda r: r.kind == (17, 2) and r.packet.apid == apid, 3, since=start)
    unknown = TcPacket(apid, 8, 1, (999).to_bytes(2, "big"), seq_count=6, source_id=SOURCE)
    ground.send_raw(encode(unknown))
    ground.wait_for(verification(unknown, 2), since=start)
    before = wait_status(sat, "FP", lambda v: v["FP.CMD_ERR_COUNT"] >= 1)
    assert before["FP.SEQ_GAPS"] == 3
    assert before["FP.CMD_ERR_COUNT"] == 1
    assert before["FP.CMD_COUNT"] >= 3 and before["FP.EVENTS"] >= 2

    start = ground.command("FP.RESET_COUNTERS")
    ground.wait_for(is_event("FP.COUNTERS_RESET"), since=start)
    after = status(sat, "FP")
    # The reset itself is the one command counted since (REPORT_HK counts after its report).
    assert after["FP.CMD_COUNT"] == 1
    assert after["FP.CMD_ERR_COUNT"] == 0
    assert after["FP.SEQ_GAPS"] == 0
    assert after["FP.PKT_REJECTED"] == 0
    assert 1 <= after["FP.EVENTS"] < before["FP.EVENTS"]
    assert after["FP.BUS_DROPS"] == 0


# --- the executive's heartbeat watchdog ----------------------------------------------------------


def test_a_hung_app_is_found_by_its_silent_heartbeat_and_restarted(
    sat_factory: Callable[..., Sat],
) -> None:
    # Fault protection is the first to act on a silent app; hanging fault protection itself
    # leaves the executive's watchdog as the only thing that can.
    timing = Timing(heartbeat_s=1.0, heartbeat_timeout_s=5.0, heartbeat_timeout_wall_s=1.0)
    sat = sat_factory(timing=timing)
    values = status(sat, "EXEC")
    hung = values["EXEC.FP_PID"]
    start = len(sat.ground.received)
    os.kill(hung, signal.SIGSTOP)
    try:
        lost = sat.ground.wait_for(is_event("EXEC.APP_HEARTBEAT_LOST"), since=start,
                                   wall_s=20.0)
        assert lost.tm.values["app"] == "FP"
        assert lost.tm.values["age"] > 2 * timing.heartbeat_timeout_s
        exited = sat.ground.wait_for(is_event("EXEC.APP_EXITED"), since=start)
        assert exited.tm.values == {"app": "FP", "status": -signal.SIGKILL}
        values = wait_status(sat, "EXEC", lambda v: v["EXEC.FP_STATE"] == "RUNNING"
                             and v["EXEC.FP_PID"] not in (0, hung)
                             and v["EXEC.APPS_RUNNING"] == 3)
    finally:
        if alive(hung):  # the watchdog did not end it: do not leave it stopped
            os.kill(hung, signal.SIGKILL)
    assert wait_gone({hung}, 3.0) == set()
    assert values["EXEC.FP_RESTARTS"] == 1
    assert values["EXEC.FP_LAST_EXIT"] == -signal.SIGKILL
    sat.ground.ping_until_alive("FP.PING")
