"""The power rules: a battery draining under load sheds compute (DEGRADED), then enters SAFE,
and operators bring it back once it has recharged."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, equal_to, greater_than, has_args
from tests.hil.conftest import with_changes

pytestmark = pytest.mark.hil

SAT = "SAT-01"


@pytest.fixture(scope="module")
def dawndusk_config() -> dict[str, Any]:
    # A small battery and a small array: four busy nodes drain it within an hour.
    return with_changes(constellation={"per_plane": 1}, hardware={
        "array_area_m2": 1.5, "battery_capacity_wh": 400.0, "initial_soc": 0.40})


async def test_a_draining_battery_sheds_compute_then_enters_safe_mode(module_fleet,
                                                                    ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    start = ops.now()
    for node in range(4):
        await ops.send_and_assert_command(SAT, "COMPUTE.SET_NODE_STATE", node=node,
                                          state="BUSY")
    await ops.set_rate(400.0)
    try:
        events = await ops.await_event_sequence(
            SAT, ["FP.BATTERY_LOW", "FP.MODE_CHANGED", "FP.BATTERY_CRITICAL", "FP.MODE_CHANGED"],
            start=start, timeout=4 * 3600)
        assert events[1].args == {"old": "NOMINAL", "new": "DEGRADED", "cause": "BATTERY_LOW"}
        assert events[3].args == {"old": "DEGRADED", "new": "SAFE",
                                  "cause": "BATTERY_CRITICAL"}
        await ops.await_telemetry(SAT, "COMPUTE.SHED_LEVEL", equal_to(3), start=events[3].time,
                                  timeout=600)
        for node in range(4):
            await ops.await_telemetry(SAT, f"NODES.NODE{node}_STATE", equal_to("OFF"),
                                      start=events[3].time, timeout=600)
        # With compute off, the array recharges the battery.
        await ops.await_telemetry(SAT, "EPS.BATTERY_SOC", greater_than(35.0),
                                  start=events[3].time, timeout=6 * 3600)
    finally:
        await ops.set_rate(20.0)
    await ops.send_and_assert_command(SAT, "FP.SET_MODE", mode="NOMINAL",
                                      events=[("FP.MODE_CHANGED", has_args(new="NOMINAL"))])
    await ops.await_telemetry(SAT, "COMPUTE.SHED_LEVEL", equal_to(0), timeout=600)
    await ops.await_telemetry(SAT, "FP.ACTIONS_FIRED", at_least(2), timeout=600)
