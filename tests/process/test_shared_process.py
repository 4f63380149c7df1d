"""A satellite whose apps share one process (``app_hosting = "together"``): the same answers,
and supervision of the process they share."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.process.conftest import Satellite
from tests.process.groundside import verification
from tests.process.procs import descendants, wait_gone
from tests.process.test_satellite import all_running, is_event, status, wait_status

pytestmark = pytest.mark.process

APPS = ("HK", "COMPUTE", "FP")


def app_pids(values: dict) -> set[int]:
    return {values[f"EXEC.{app}_PID"] for app in APPS}


def test_every_app_answers_from_one_process(satellite_together: Satellite) -> None:
    values = all_running(satellite_together)
    (pid,) = app_pids(values)
    # Below the executive: its zygote and, below that, the one process of every app.
    below = descendants(satellite_together.pid)
    assert pid in below and len(below) == 2, f"zygote and one app process expected: {below}"
    ground = satellite_together.ground
    for app in ("EXEC", *APPS):
        ground.ping(app)


def test_killing_the_shared_process_restarts_every_app_in_it(
    satellite_together: Satellite,
) -> None:
    values = all_running(satellite_together)
    (old_pid,) = app_pids(values)
    ground = satellite_together.ground
    start = len(ground.received)
    os.kill(old_pid, signal.SIGKILL)
    exited = {ground.wait_for(lambda r, a=app: is_event("EXEC.APP_EXITED")(r)
                              and r.tm.values["app"] == a, since=start).tm.values["status"]
              for app in APPS}
    assert exited == {-9}
    for app in APPS:
        restarting = ground.wait_for(lambda r, a=app: is_event("EXEC.APP_RESTARTING")(r)
                                     and r.tm.values["app"] == a, since=start)
        assert restarting.tm.values["restarts"] == 1
    values = wait_status(satellite_together, lambda v: v["EXEC.APPS_RUNNING"] == 3
                         and app_pids(v) != {old_pid} and 0 not in app_pids(v))
    (new_pid,) = app_pids(values)
    assert new_pid != old_pid
    for app in APPS:
        assert values[f"EXEC.{app}_RESTARTS"] == 1
        assert values[f"EXEC.{app}_LAST_EXIT"] == -9
    ground.ping_until_alive("FP.PING")


def test_stopping_one_app_restarts_its_mates_without_it_and_starting_it_brings_it_back(
    satellite_together: Satellite,
) -> None:
    values = all_running(satellite_together)
    (old_pid,) = app_pids(values)
    ground = satellite_together.ground
    tc = ground.send("EXEC.STOP_APP", app="FP")
    ground.wait_for(verification(tc, 7))
    assert wait_gone({old_pid}, 3.0) == set()
    values = wait_status(satellite_together, lambda v: v["EXEC.FP_STATE"] == "STOPPED"
                         and v["EXEC.HK_STATE"] == v["EXEC.COMPUTE_STATE"] == "RUNNING")
    assert values["EXEC.FP_PID"] == 0 and values["EXEC.APPS_RUNNING"] == 2
    without_fp = values["EXEC.HK_PID"]
    assert without_fp == values["EXEC.COMPUTE_PID"] and without_fp not in (0, old_pid)
    # Fault protection is really gone: the housekeeping app (in the new process) answers.
    ground.ping_until_alive("HK.PING")
    assert "COMPUTE.UPTIME" in status(satellite_together, "COMPUTE")
    tc = ground.send("EXEC.START_APP", app="FP")
    ground.wait_for(verification(tc, 7))
    values = wait_status(satellite_together, lambda v: v["EXEC.APPS_RUNNING"] == 3)
    (pid,) = app_pids(values)
    assert pid not in (0, old_pid, without_fp)
    ground.ping_until_alive("FP.PING")


def test_sigterm_ends_the_executive_and_the_shared_process(satellite_together: Satellite) -> None:
    all_running(satellite_together)
    tree = satellite_together.tree()
    assert len(tree) == 3, f"executive, zygote and one app process expected, found {tree}"
    os.kill(satellite_together.pid, signal.SIGTERM)
    assert wait_gone(tree, 2.0) == set()
    assert satellite_together.process.wait(1.0) == 0


def test_a_stopped_mate_stays_stopped_past_fault_protections_heartbeat_timeout(
    satellite_together: Satellite,
) -> None:
    all_running(satellite_together)
    ground = satellite_together.ground
    start = ground.command("EXEC.STOP_APP", app="COMPUTE")
    stopped = wait_status(satellite_together, lambda v: v["EXEC.COMPUTE_STATE"] == "STOPPED"
                          and v["EXEC.APPS_RUNNING"] == 2)
    # Fault protection restarted with HK, without COMPUTE. Past its heartbeat timeout (30 s
    # simulated and the 5 s wall-clock floor, twice over) COMPUTE is still stopped: it was
    # stopped on purpose, and a restart nobody asked for would undo an operator's command.
    timing = satellite_together.run.timing
    sim0, wall0 = stopped["EXEC.UPTIME"], time.monotonic()
    values = wait_status(satellite_together, lambda v: v["EXEC.UPTIME"] - sim0 > 60.0
                         and time.monotonic() - wall0 > 2 * timing.heartbeat_timeout_wall_s,
                         wall_s=30.0)
    assert values["EXEC.COMPUTE_STATE"] == "STOPPED" and values["EXEC.APPS_RUNNING"] == 2
    lost = [r for r in ground.received[start:] if is_event("FP.HEARTBEAT_LOST")(r)]
    assert lost == []
    # A restart of an app stopped by command is refused: START_APP starts it.
    tc = ground.send("EXEC.RESTART_APP", app="COMPUTE")
    refused = ground.wait_for(verification(tc, 2), since=start)
    assert refused.tm.values["code"] == "NOT_ALLOWED_IN_MODE"
    ground.command("EXEC.START_APP", app="COMPUTE")
    wait_status(satellite_together, lambda v: v["EXEC.APPS_RUNNING"] == 3)
