"""A failing check reads as a sentence: the condition, the last value seen and the simulated
time waited."""

from __future__ import annotations

import re

import pytest

from ground.client import CheckFailed
from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import greater_than, has_args, less_than

pytestmark = pytest.mark.hil

SAT = "SAT-01"


async def test_a_failed_wait_names_the_condition_the_last_value_and_the_time_waited(
        module_fleet, ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    await ops.await_telemetry(SAT, "EPS.BATTERY_SOC", greater_than(0.0), timeout=300)
    with pytest.raises(CheckFailed) as failure:
        await ops.await_telemetry(SAT, "EPS.BATTERY_SOC", less_than(-1.0), timeout=120)
    text = str(failure.value)
    assert "SAT-01 EPS.BATTERY_SOC < -1" in text
    assert re.search(r"last value [0-9.]+ at \d\d:\d\d:\d\d", text), text
    waited = re.search(r"waited (\d+) s", text)
    # At least the timeout asked for (the upper end is wall lag times the rate: not a check).
    assert waited and int(waited.group(1)) >= 110, text
    assert "simulated" in text

    with pytest.raises(CheckFailed) as failure:
        await ops.await_event(SAT, "FP.MODE_CHANGED", has_args(new="SAFE"), timeout=60)
    text = str(failure.value)
    assert "SAT-01 event FP.MODE_CHANGED with new = SAFE" in text and "waited" in text
    assert "last event" in text or "no event received" in text

    with pytest.raises(CheckFailed) as failure:
        ops.assert_telemetry(SAT, "EPS.BATTERY_SOC", less_than(-1.0))
    assert "not in history" in str(failure.value) and "last value" in str(failure.value)

    with pytest.raises(CheckFailed) as failure:
        await ops.send_and_assert_failure(SAT, "HK.PING", "INVALID_ARGUMENT", max_delay=300)
    assert "expected to fail with INVALID_ARGUMENT, ended COMPLETED" in str(failure.value)
