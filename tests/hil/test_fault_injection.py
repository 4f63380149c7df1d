"""Every fault the test kit can inject, each seen to take effect through telemetry, events and
commands — the way an operator would see it."""

from __future__ import annotations

import pytest

from ground.client import Client
from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, equal_to, has_args, not_equal_to, within

pytestmark = pytest.mark.hil

SAT = "SAT-01"


@pytest.fixture
async def fleet_ops(module_fleet, ops: Ops) -> Ops:
    await ops.wait_for_dataflow([SAT])
    return ops


async def test_kill_app_restarts_it_with_a_new_pid(fleet_ops: Ops) -> None:
    ops = fleet_ops
    # From before the kill: the executive stamps its events on its own clock, which may be a
    # moment behind the ground's "now" once the kill is done (in CI the exit was stamped
    # before it, and went unseen).
    start = ops.now()
    pid = await ops.kill_app(SAT, "HK")
    await ops.await_event(SAT, "EXEC.APP_EXITED", has_args(app="HK"), start=start, timeout=300)
    await ops.await_event(SAT, "EXEC.APP_STARTED", has_args(app="HK", pid=not_equal_to(pid)),
                          start=start, timeout=300)
    await ops.await_telemetry(SAT, "EXEC.HK_RESTARTS", at_least(1), timeout=300)
    await ops.send_and_assert_command(SAT, "HK.PING")


async def test_stop_app_is_found_by_its_missing_heartbeat_and_restarted(fleet_ops: Ops) -> None:
    ops = fleet_ops
    pid = await ops.stop_app(SAT, "COMPUTE")
    try:
        await ops.await_event(SAT, "FP.HEARTBEAT_LOST", has_args(app="COMPUTE"), timeout=1800)
        await ops.await_event(SAT, "EXEC.APP_STARTED",
                              has_args(app="COMPUTE", pid=not_equal_to(pid)), timeout=1800)
    finally:
        ops.resume_app(pid)
    await ops.send_and_assert_command(SAT, "COMPUTE.PING")


async def test_hardware_faults_reach_the_sensors(fleet_ops: Ops) -> None:
    ops = fleet_ops
    await ops.hardware_fault(SAT, "radiator", factor=0.5)
    await ops.await_telemetry(SAT, "THERMAL.RADIATOR_EFFICIENCY", within(0.49, 0.51),
                              timeout=300)
    await ops.hardware_fault(SAT, "radiator", factor=1.0)
    await ops.await_telemetry(SAT, "THERMAL.RADIATOR_EFFICIENCY", within(0.99, 1.01),
                              timeout=300)
    await ops.hardware_fault(SAT, "upset", node=3)
    await ops.await_telemetry(SAT, "NODES.UPSETS", at_least(1), timeout=300)
    await ops.hardware_fault(SAT, "battery_cells", strings=1)
    await ops.await_telemetry(SAT, "EPS.CELLS_FAILED", equal_to(1), timeout=300)
    with pytest.raises(ValueError, match="unknown hardware fault"):
        await ops.hardware_fault(SAT, "meteorite")


async def test_a_cut_link_loses_what_is_sent_until_it_heals(fleet_ops: Ops) -> None:
    ops = fleet_ops
    await ops.cut_link(SAT, 240.0)
    await ops.set_rate(100.0)
    try:
        lost = await ops.send_command(SAT, "HK.NOOP", timeout=60)
        await lost.await_complete(600)
        assert lost.state == "TIMEOUT", lost.record
        status = await ops.client.status()
        cut = sum(link["dropped"].get("cut", 0) for link in status["link"]["links"])
        assert cut >= 1, status["link"]
        await ops.client.clock.sleep_until(ops.now() + 240.0)
    finally:
        await ops.set_rate(20.0)
    await ops.send_and_assert_command(SAT, "HK.NOOP", max_delay=600)


async def test_a_corrupted_downlink_fails_its_crc_on_the_ground(fleet_ops: Ops) -> None:
    ops = fleet_ops
    before = (await ops.client.status())["counters"].get("rejected_crc_mismatch", 0)
    await ops.corrupt_link(SAT, 0.5, 120.0, direction="down")
    await ops.client.clock.sleep_until(ops.now() + 120.0)
    after = (await ops.client.status())["counters"].get("rejected_crc_mismatch", 0)
    assert after > before


async def test_the_clock_rate_changes_for_everyone(fleet_ops: Ops) -> None:
    ops = fleet_ops
    await ops.set_rate(40.0)
    try:
        assert ops.client.clock.rate == 40.0
        reply = await ops.client.request("now")
        assert reply["rate"] == 40.0
        # The satellites follow: their telemetry time runs at the new rate.
        first = await ops.await_telemetry(SAT, "EXEC.UPTIME", timeout=120)
        later = await ops.await_telemetry(SAT, "EXEC.UPTIME", at_least(first.value + 30),
                                          timeout=300)
        assert later.value - first.value == pytest.approx(later.time - first.time, abs=15)
    finally:
        await ops.set_rate(20.0)


async def test_stations_and_relays_cut_leave_commands_undelivered(fleet_ops: Ops) -> None:
    # Last in the module: nothing reaches the satellite for a while afterwards.
    ops = fleet_ops
    for node in ("SVALBARD", "TROLL", "KIRUNA", "INUVIK", "TL-1", "TL-2", "TL-3"):
        await ops.cut_station(node, 400.0)
    before = await _unrouted(ops.client)
    handle = await ops.send_command(SAT, "HK.NOOP", timeout=60)
    await handle.await_complete(600)
    assert handle.state == "TIMEOUT", handle.record  # ground control was not told
    assert await _unrouted(ops.client) > before


async def _unrouted(client: Client) -> int:
    link = (await client.status())["link"]
    return sum(count for node, cause, count in link.get("unrouted", [])
               if node == "GROUND" and cause == "no_contact")
