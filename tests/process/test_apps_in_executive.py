"""A satellite whose apps run in its executive's process (``app_hosting = "executive"``): the
same answers on the bus in memory, one process, and supervision in place."""

from __future__ import annotations

import os
import signal

import pytest

from tests.process.conftest import Satellite
from tests.process.groundside import verification
from tests.process.procs import descendants, wait_gone
from tests.process.test_satellite import all_running, is_event, status, wait_status

pytestmark = pytest.mark.process

APPS = ("HK", "COMPUTE", "FP")


def app_pids(values: dict) -> set[int]:
    return {values[f"EXEC.{app}_PID"] for app in APPS}


def test_every_app_answers_from_the_executives_own_process(
        satellite_in_executive: Satellite) -> None:
    sat = satellite_in_executive
    values = all_running(sat)
    assert app_pids(values) == {sat.pid}
    assert descendants(sat.pid) == [], "no zygote and no app process below the executive"
    ground = sat.ground
    for app in ("EXEC", *APPS):
        ground.ping(app)
    # Their housekeeping goes on as in a process of their own (the sensors come from no
    # simulator here: the reports with readings wait for them).
    assert "FP.MODE" in status(sat, "FP") and "HK.RECORDER_PACKETS" in status(sat, "HK")


def test_a_restart_stops_the_apps_in_place_and_makes_them_anew(
        satellite_in_executive: Satellite) -> None:
    sat = satellite_in_executive
    before = all_running(sat)
    ground = sat.ground
    start = ground.command("EXEC.RESTART_APP", app="COMPUTE")
    # They share their host, as apps sharing a process do: every one of them ends (as by
    # SIGTERM) and starts again at once, without back-off; the executive never goes.
    exited = {ground.wait_for(lambda r, a=app: is_event("EXEC.APP_EXITED")(r)
                              and r.tm.values["app"] == a, since=start).tm.values["status"]
              for app in APPS}
    assert exited == {-signal.SIGTERM}
    values = wait_status(sat, lambda v: v["EXEC.APPS_RUNNING"] == 3
                         and all(v[f"EXEC.{app}_RESTARTS"] == 1 for app in APPS))
    # The executive went on: the same process, its uptime running on from before.
    assert app_pids(values) == {sat.pid} and sat.process.poll() is None
    assert values["EXEC.UPTIME"] > before["EXEC.UPTIME"]
    assert not [r for r in ground.received[start:] if is_event("EXEC.APP_RESTARTING")(r)]
    for app in APPS:
        ground.ping_until_alive(f"{app}.PING")


def test_a_stopped_app_stays_stopped_and_starting_it_brings_it_back(
        satellite_in_executive: Satellite) -> None:
    sat = satellite_in_executive
    all_running(sat)
    ground = sat.ground
    start = ground.command("EXEC.STOP_APP", app="FP")
    values = wait_status(sat, lambda v: v["EXEC.FP_STATE"] == "STOPPED"
                         and v["EXEC.HK_STATE"] == v["EXEC.COMPUTE_STATE"] == "RUNNING")
    assert values["EXEC.FP_PID"] == 0 and values["EXEC.APPS_RUNNING"] == 2
    # A telecommand for it is refused by the executive's gate, not lost.
    tc = ground.send("FP.PING")
    refused = ground.wait_for(verification(tc, 2), since=start)
    assert refused.tm.values["code"] == "APP_NOT_RUNNING"
    ground.ping_until_alive("HK.PING")
    ground.command("EXEC.START_APP", app="FP")
    wait_status(sat, lambda v: v["EXEC.APPS_RUNNING"] == 3)
    ground.ping_until_alive("FP.PING")


def test_sigterm_ends_the_one_process_of_the_satellite(satellite_in_executive: Satellite) -> None:
    sat = satellite_in_executive
    all_running(sat)
    assert sat.tree() == {sat.pid}
    os.kill(sat.pid, signal.SIGTERM)
    assert wait_gone({sat.pid}, 2.0) == set()
    assert sat.process.wait(1.0) == 0
