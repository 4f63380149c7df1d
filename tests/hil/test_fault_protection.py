"""Each fault-protection rule, provoked through the hardware or by silence, seen through its
events, its mode and compute's shed level — and undone by operators."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, equal_to, has_args, is_in, not_equal_to
from tests.hil.conftest import with_changes

pytestmark = pytest.mark.hil

SAT = "SAT-01"


@pytest.fixture(scope="module")
def dawndusk_config() -> dict[str, Any]:
    return with_changes(constellation={"per_plane": 1})


@pytest.fixture
async def fp(module_fleet, ops: Ops) -> Ops:
    await ops.wait_for_dataflow([SAT])
    return ops


async def test_a_silent_app_is_restarted_at_fault_protection_s_request(fp: Ops) -> None:
    pid = await fp.stop_app(SAT, "HK")
    try:
        lost = await fp.await_event(SAT, "FP.HEARTBEAT_LOST", has_args(app="HK"), timeout=1800)
        await fp.await_event(SAT, "FP.ACTION_FIRED", has_args(event="FP.HEARTBEAT_LOST"),
                             start=lost.time, timeout=600)
        await fp.await_event(SAT, "EXEC.APP_STARTED", has_args(app="HK", pid=not_equal_to(pid)),
                             start=lost.time, timeout=600)
    finally:
        fp.resume_app(pid)
    await fp.send_and_assert_command(SAT, "HK.PING")


async def test_hot_nodes_throttle_compute_then_an_overheating_node_is_powered_off(
        fp: Ops) -> None:
    await fp.send_and_assert_command(SAT, "COMPUTE.SUBMIT_JOB", job={
        "id": 91, "kind": "sha256-chain", "work": 12 * 3600.0, "priority": 50,
        "checkpoint_interval": 600})
    await fp.await_telemetry(SAT, "COMPUTE.JOBS_RUNNING", at_least(1), timeout=600)
    start = fp.now()
    await fp.hardware_fault(SAT, "radiator", factor=0.05)
    await fp.set_rate(400.0)
    try:
        hot = await fp.await_event(SAT, "FP.NODE_HOT", start=start, timeout=6 * 3600)
        await fp.await_event(SAT, "FP.MODE_CHANGED",
                             has_args(new="DEGRADED", cause="OVER_TEMPERATURE"), start=start,
                             timeout=600)
        await fp.await_telemetry(SAT, "COMPUTE.SHED_LEVEL", at_least(1), start=hot.time,
                                 timeout=600)
        off = await fp.await_event(SAT, "FP.NODE_OVERHEAT", start=start, timeout=6 * 3600)
        node = off.args["node"]
        await fp.await_telemetry(SAT, f"NODES.NODE{node}_STATE", equal_to("OFF"),
                                 start=off.time, timeout=600)
        await fp.hardware_fault(SAT, "radiator", factor=1.0)
        await fp.await_event(SAT, "FP.NODE_COOLED", has_args(node=node), start=off.time,
                             timeout=6 * 3600)
    finally:
        await fp.set_rate(20.0)
    # Over-temperature is left by command: operators bring the satellite back.
    await fp.send_and_assert_command(SAT, "FP.SET_MODE", mode="NOMINAL",
                                     events=[("FP.MODE_CHANGED", has_args(new="NOMINAL"))])
    await fp.send_and_assert_command(SAT, "COMPUTE.SET_NODE_STATE", node=node, state="IDLE")
    await fp.send_and_assert_command(SAT, "COMPUTE.CANCEL_JOB", job_id=91)
    await fp.await_telemetry(SAT, "COMPUTE.SHED_LEVEL", equal_to(0), timeout=600)


async def test_silence_from_the_ground_puts_the_satellite_in_safe_mode(fp: Ops) -> None:
    await fp.send_and_assert_command(SAT, "FP.SET_PARAM", param="COMMAND_LOSS_S", value=900.0)
    start = fp.now()
    await fp.set_rate(100.0)
    try:
        await fp.await_event(SAT, "FP.COMMAND_LOSS", start=start, timeout=3600)
        await fp.await_event(SAT, "FP.MODE_CHANGED", has_args(new="SAFE", cause="COMMAND_LOSS"),
                             start=start, timeout=600)
        await fp.await_telemetry(SAT, "COMPUTE.SHED_LEVEL", equal_to(3), start=start,
                                 timeout=600)
    finally:
        await fp.set_rate(20.0)
    # A command from the ground restarts the timer; operators bring it back and disarm it.
    await fp.send_and_assert_command(SAT, "FP.SET_MODE", mode="NOMINAL")
    await fp.send_and_assert_command(SAT, "FP.SET_PARAM", param="COMMAND_LOSS_S",
                                     value=86_400.0)
    await fp.await_telemetry(SAT, "FP.MODE", is_in("NOMINAL"), timeout=600)
