"""Recorder playback after an outage: what the satellite produced while nobody heard it comes
down when asked for, and fills the archive's hole."""

from __future__ import annotations

import itertools

import pytest

from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, has_args

pytestmark = pytest.mark.hil

SAT = "SAT-01"
OUTAGE_S = 1200.0
HK_EPS_S = 10.0  # HK.EPS period


async def points(ops: Ops, start: float, end: float) -> list[list[float]]:
    reply = await ops.client.request("series", satellite=SAT, param="EPS.BATTERY_SOC",
                                     start=start, end=end)
    return reply["points"]


async def test_playback_after_an_outage_fills_the_archive(module_fleet, ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    start = ops.now()
    await ops.cut_link(SAT, OUTAGE_S, direction="down")
    end = start + OUTAGE_S
    await ops.set_rate(100.0)
    try:
        await ops.client.clock.sleep_until(end + 30)
    finally:
        await ops.set_rate(20.0)
    inner = (start + 60, end - 60)
    assert await points(ops, *inner) == [], "telemetry came down through a cut link"
    await ops.send_and_assert_command(SAT, "HK.PLAYBACK", start=start, end=end,
                                      events=[("HK.PLAYBACK_DONE", has_args(
                                          packets=at_least(OUTAGE_S / HK_EPS_S)))])
    expected = (inner[1] - inner[0]) / HK_EPS_S

    async def filled() -> int:
        while len(found := await points(ops, *inner)) < expected - 1:
            await ops.client.clock.sleep(30)
        return len(found)

    got = await ops.client.clock.wait_for(filled(), 900)
    times = [t for t, _ in await points(ops, *inner)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert got >= expected - 1 and max(gaps) <= HK_EPS_S * 1.5, gaps
