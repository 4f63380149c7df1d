"""One satellite as real processes: pings, verification, rejections, restarts, clean stops."""

from __future__ import annotations

import os
import signal
import time

import pytest

from common.dictionary import DICTIONARY
from common.packets import TcPacket, encode
from tests.process.conftest import Satellite, start_satellite, stop_tree
from tests.process.groundside import GroundSide, Received, verification
from tests.process.procs import descendants, wait_gone

pytestmark = pytest.mark.process


def status(sat: Satellite, app: str = "EXEC") -> dict:
    """Ask for the app's STATUS structure now and return its values."""
    start = len(sat.ground.received)
    sat.ground.send(f"{app}.REPORT_HK", structure="STATUS")
    item = sat.ground.wait_for(lambda r: r.tm is not None and r.tm.name == f"{app}.STATUS",
                               since=start)
    return item.tm.values


def wait_status(sat: Satellite, check, wall_s: float = 15.0) -> dict:
    deadline = time.monotonic() + wall_s
    while True:
        values = status(sat)
        if check(values):
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"EXEC.STATUS never satisfied the check; last: {values}")
        time.sleep(0.1)


def all_running(sat: Satellite) -> dict:
    return wait_status(sat, lambda v: v["EXEC.APPS_RUNNING"] == 3)


def is_event(name: str):
    return lambda r: r.tm is not None and r.tm.kind == "event" and r.tm.name == name


@pytest.mark.parametrize("app", ["EXEC", "HK", "COMPUTE", "FP"])
def test_ping_answers_accept_alive_complete(satellite: Satellite, app: str) -> None:
    all_running(satellite)
    ground = satellite.ground
    start = len(ground.received)
    tc = ground.send(f"{app}.PING")
    accepted = ground.wait_for(verification(tc, 1), since=start)
    alive = ground.wait_for(lambda r: r.kind == (17, 2) and r.packet.apid == tc.apid, since=start)
    completed = ground.wait_for(verification(tc, 7), since=start)
    order = [ground.received.index(x) for x in (accepted, alive, completed)]
    assert order == sorted(order), "TM[1,1], TM[17,2], TM[1,7] must come in that order"
    assert completed.packet.apid == DICTIONARY.apps[app].apid


def test_bad_argument_fails_acceptance_with_code(satellite: Satellite) -> None:
    all_running(satellite)
    ground = satellite.ground
    command = DICTIONARY.command("FP.SET_MODE")
    # Function 16 with mode 7: our encoder refuses it, so build the packet by hand.
    tc = TcPacket(command.apid, 8, 1, (16).to_bytes(2, "big") + bytes([7]), seq_count=99)
    start = len(ground.received)
    ground.send_raw(encode(tc))
    refused = ground.wait_for(verification(tc, 2), since=start)
    assert refused.tm.values["code"] == "INVALID_ARGUMENT"
    assert refused.tm.values["data"] == 1  # the first argument is to blame
    event = ground.wait_for(is_event("FP.COMMAND_REJECTED"), since=start)
    assert event.tm.values["code"] == "INVALID_ARGUMENT"
    assert event.tm.values["apid"] == DICTIONARY.apps["FP"].apid
    assert status(satellite, "FP")["FP.CMD_ERR_COUNT"] == 1


def test_unknown_function_fails_acceptance(satellite: Satellite) -> None:
    ground = satellite.ground
    tc = TcPacket(DICTIONARY.apps["EXEC"].apid, 8, 1, (999).to_bytes(2, "big"), seq_count=7)
    start = len(ground.received)
    ground.send_raw(encode(tc))
    assert ground.wait_for(verification(tc, 2), since=start).tm.values["code"] == "ILLEGAL_FUNCTION"


def test_garbage_on_uplink_is_counted_and_evented_and_satellite_keeps_answering(
    satellite: Satellite,
) -> None:
    ground = satellite.ground
    start = len(ground.received)
    good = encode(DICTIONARY.encode_command("EXEC.PING"))
    flipped = bytearray(good)
    flipped[-3] ^= 0x40  # a bit flip: CRC mismatch
    ground.send_raw(bytes(flipped))
    ground.send_raw(b"\x00\x01")  # too short for a header
    ground.send_raw(good, spacecraft="SAT-99")  # not for us
    event = ground.wait_for(is_event("EXEC.UPLINK_REJECTED"), since=start)
    assert event.tm.values["reason"] in {"CRC_MISMATCH", "TOO_SHORT", "BAD_TOPIC"}
    ground.ping_until_alive()
    values = wait_status(satellite, lambda v: v["EXEC.UPLINK_REJECTED"] >= 3)
    assert values["EXEC.UPLINK_REJECTED"] == 3
    assert values["EXEC.PKT_REJECTED"] == 3
    reasons = {r.tm.values["reason"] for r in ground.received[start:]
               if r.tm is not None and r.tm.name == "EXEC.UPLINK_REJECTED"}
    assert "CRC_MISMATCH" in reasons


def test_killed_app_is_restarted_once_with_events(satellite: Satellite) -> None:
    values = all_running(satellite)
    old_pid = values["EXEC.HK_PID"]
    ground = satellite.ground
    start = len(ground.received)
    os.kill(old_pid, signal.SIGKILL)
    exited = ground.wait_for(is_event("EXEC.APP_EXITED"), since=start)
    assert exited.tm.values == {"app": "HK", "status": -9}
    restarting = ground.wait_for(is_event("EXEC.APP_RESTARTING"), since=start)
    assert restarting.tm.values["restarts"] == 1
    started = ground.wait_for(is_event("EXEC.APP_STARTED"), since=start)
    assert started.tm.values["app"] == "HK" and started.tm.values["pid"] != old_pid
    values = wait_status(satellite, lambda v: v["EXEC.HK_STATE"] == "RUNNING"
                         and v["EXEC.HK_PID"] not in (0, old_pid))
    assert values["EXEC.HK_RESTARTS"] == 1
    assert values["EXEC.HK_LAST_EXIT"] == -9
    ground.ping_until_alive("HK.PING")


def test_restart_app_command_restarts_without_backoff(satellite: Satellite) -> None:
    values = all_running(satellite)
    ground = satellite.ground
    start = ground.command("EXEC.RESTART_APP", app="COMPUTE")
    values = wait_status(satellite, lambda v: v["EXEC.COMPUTE_STATE"] == "RUNNING"
                         and v["EXEC.COMPUTE_PID"] != values["EXEC.COMPUTE_PID"])
    assert values["EXEC.COMPUTE_RESTARTS"] == 1
    assert not [r for r in ground.received[start:] if is_event("EXEC.APP_RESTARTING")(r)]


def test_stop_and_start_app(satellite: Satellite) -> None:
    values = all_running(satellite)
    pid = values["EXEC.FP_PID"]
    ground = satellite.ground
    tc = ground.send("EXEC.STOP_APP", app="FP")
    ground.wait_for(verification(tc, 7))
    assert wait_gone({pid}, 3.0) == set()
    values = wait_status(satellite, lambda v: v["EXEC.FP_STATE"] == "STOPPED")
    assert values["EXEC.FP_PID"] == 0 and values["EXEC.APPS_RUNNING"] == 2
    tc = ground.send("EXEC.START_APP", app="FP")
    ground.wait_for(verification(tc, 7))
    wait_status(satellite, lambda v: v["EXEC.FP_STATE"] == "RUNNING")


def test_sigterm_to_executive_ends_every_process_within_two_seconds(satellite: Satellite) -> None:
    all_running(satellite)
    tree = satellite.tree()
    assert len(tree) >= 5, f"executive, zygote and three apps expected, found {tree}"
    os.kill(satellite.pid, signal.SIGTERM)
    assert wait_gone(tree, 2.0) == set()
    assert satellite.process.wait(1.0) == 0


def test_every_process_of_a_satellite_runs_at_the_satellites_niceness(
        satellite: Satellite) -> None:
    # The fleet-wide services (ground control, the space link, the hardware) keep the default
    # priority; a satellite's executive and everything it forks run behind them.
    all_running(satellite)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    niceness = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in satellite.tree()}
    expected = min(19, base + satellite.run.timing.satellite_nice)
    assert len(niceness) >= 5 and set(niceness.values()) == {expected}, niceness


def test_no_process_of_a_satellite_loads_tls_or_openssl(satellite: Satellite) -> None:
    # flight.image leaves them out of the image the apps are forked from: several MiB less in
    # every satellite. The satellite still authenticates telecommands and hashes job results
    # (CPython's own SHA-256), which the security and compute tests check end to end.
    all_running(satellite)
    tree = satellite.tree()
    assert len(tree) >= 5
    for pid in tree:
        with open(f"/proc/{pid}/maps") as maps:
            libraries = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if "/" in line}
        loaded = sorted(name for name in libraries
                        if name.startswith(("libssl.", "libcrypto.", "_ssl.", "_hashlib.")))
        assert loaded == [], f"pid {pid} loaded {loaded}"


def test_executive_killed_takes_its_children_with_it(tmp_path) -> None:
    run, process = start_satellite(tmp_path / "run")
    ground = GroundSide(run, "SAT-01")
    try:
        ground.ping_until_alive()
        deadline = time.monotonic() + 10
        while len(descendants(process.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree = descendants(process.pid)
        assert len(tree) == 4, f"zygote and three apps expected, found {tree}"
        process.kill()
        process.wait(2.0)
        assert wait_gone(set(tree), 3.0) == set()
    finally:
        ground.close()
        stop_tree(process)


def test_telemetry_is_time_stamped_in_simulated_time(satellite: Satellite) -> None:
    ground = satellite.ground
    start = len(ground.received)
    ground.send("EXEC.PING")
    item: Received = ground.wait_for(lambda r: r.kind == (17, 2), since=start)
    sim_now = satellite.clock.state.sim_at(time.time())
    assert abs(item.packet.time.to_unix() - sim_now) < 10.0 * 2  # rate 10: two wall seconds


def test_an_app_stopped_while_it_proves_its_bus_live_ends_at_once(tmp_path) -> None:
    # An app process whose bus never answers (its executive killed, say) waits up to
    # ready_timeout_wall_s to prove its subscriptions live: a SIGTERM meanwhile ends it now.
    import subprocess
    import sys

    import zmq

    from common.endpoints import Endpoints
    from common.runconfig import Timing, new_run

    # Its start would give up only after a minute: an end before then is the signal's doing.
    run = new_run(tmp_path / "run", ("SAT-01",), timing=Timing(ready_timeout_wall_s=60.0))
    run.save()
    context = zmq.Context()
    dead_bus = context.socket(zmq.XPUB)  # takes the app's subscriptions, answers nothing
    dead_bus.setsockopt(zmq.LINGER, 0)
    dead_bus.bind(Endpoints(run).bus_out("SAT-01"))
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from flight.framework.runtime import host_apps; "
         f"sys.exit(host_apps({str(run.run_dir)!r}, 'SAT-01', ['HK']))"])
    try:
        assert dead_bus.poll(20_000), "the app never subscribed"
        dead_bus.recv()  # it is proving its subscriptions live
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30.0) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        dead_bus.close()
        context.term()
