"""Telecommands for an app not on the bus, uplinked or sent onboard: held while it comes back,
refused with a report when it is stopped — never published into the void
(flight.executive.gate)."""

from __future__ import annotations

import os
import signal

import pytest

from common.dictionary import DICTIONARY
from tests.process.conftest import Satellite
from tests.process.groundside import verification
from tests.process.test_satellite import all_running, status, wait_status

pytestmark = pytest.mark.process


def executive_command(satellite: Satellite, app_command: str, app: str, state: str) -> None:
    """EXEC.``app_command`` for ``app``, completed, and the app's state then ``state``."""
    tc = satellite.ground.send(f"EXEC.{app_command}", app=app)
    satellite.ground.wait_for(verification(tc, 7))
    wait_status(satellite, lambda v: v[f"EXEC.{app}_STATE"] == state)


def test_a_command_for_an_app_stopped_by_command_is_refused_as_not_running(
        satellite: Satellite) -> None:
    all_running(satellite)
    ground = satellite.ground
    executive_command(satellite, "STOP_APP", "HK", "STOPPED")
    start = len(ground.received)
    ping = ground.send("HK.PING")
    refused = ground.wait_for(verification(ping, 2), since=start)
    assert refused.tm is not None and refused.tm.values["code"] == "APP_NOT_RUNNING"
    assert not [r for r in ground.received[start:] if verification(ping, 1)(r)]
    values = status(satellite)
    assert values["EXEC.TC_NOT_DELIVERED"] == 1 and values["EXEC.TC_HELD"] == 0

    executive_command(satellite, "START_APP", "HK", "RUNNING")
    start = len(ground.received)
    ping = ground.send("HK.PING")
    ground.wait_for(verification(ping, 7), since=start)


def test_commands_sent_while_their_app_starts_are_held_and_delivered_in_order(
        satellite: Satellite) -> None:
    values = all_running(satellite)
    ground = satellite.ground
    executive_command(satellite, "STOP_APP", "HK", "STOPPED")
    # With the zygote stopped, HK cannot be forked: it stays on its way back for as long as
    # the test needs, whatever the machine's speed.
    apps = {values[f"EXEC.{app}_PID"] for app in ("COMPUTE", "FP")}
    zygote = sorted(satellite.tree() - apps - {satellite.pid, values["EXEC.HK_PID"]})
    assert len(zygote) == 1, f"one zygote expected besides the apps: {zygote}"
    os.kill(zygote[0], signal.SIGSTOP)
    try:
        start_app = ground.send("EXEC.START_APP", app="HK")
        ground.wait_for(verification(start_app, 3))
        pings = [ground.send("HK.PING") for _ in range(3)]
        held = wait_status(satellite, lambda v: v["EXEC.TC_WAITING"] == 3)
        assert held["EXEC.TC_HELD"] == 3 and held["EXEC.TC_NOT_DELIVERED"] == 0
        assert not [r for r in ground.received if any(verification(p, 1)(r) for p in pings)]
    finally:
        os.kill(zygote[0], signal.SIGCONT)
    start = len(ground.received)
    completed = [ground.wait_for(verification(ping, 7), since=start) for ping in pings]
    order = [ground.received.index(item) for item in completed]
    assert order == sorted(order), "held commands must run in the order they came"
    ground.wait_for(verification(start_app, 7))
    assert status(satellite)["EXEC.TC_WAITING"] == 0


def test_an_onboard_command_for_a_stopped_app_is_refused_to_the_app_that_sent_it(
        satellite: Satellite) -> None:
    all_running(satellite)
    ground = satellite.ground
    executive_command(satellite, "STOP_APP", "COMPUTE", "STOPPED")
    start = len(ground.received)
    mode = ground.send("FP.SET_MODE", mode="SAFE")  # fault protection tells COMPUTE to shed
    ground.wait_for(verification(mode, 7), since=start)
    rejected = ground.wait_for(
        lambda r: r.tm is not None and r.tm.name == "EXEC.COMMAND_REJECTED", since=start)
    assert rejected.tm is not None and rejected.tm.values["code"] == "APP_NOT_RUNNING"
    assert rejected.tm.values["apid"] == DICTIONARY.apps["COMPUTE"].apid  # not EXEC's own
    assert wait_status(satellite, lambda v: v["EXEC.TC_NOT_DELIVERED"] == 1)
    fp = status(satellite, "FP")
    assert fp["FP.ACTIONS_FAILED"] == 1 and fp["FP.MODE"] == "SAFE"
