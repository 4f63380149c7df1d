"""The hardware-in-the-loop seam: one satellite's hardware is an external rig (tests/hil/rig.py)
that speaks the same sensor and actuator packets; the flight software cannot tell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.processes import stop_tree
from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import equal_to, not_equal_to
from scenarios.testkit.testbed import Testbed
from tests.hil.conftest import HIL_CONFIG

pytestmark = pytest.mark.hil

RIG = Path(__file__).with_name("rig.py")


async def test_a_rig_replaces_one_satellite_s_simulated_hardware(tmp_path: Path) -> None:
    async with Testbed(HIL_CONFIG, tmp_path / "bed", hil=("SAT-02",), keep=False) as ops:
        rig = subprocess.Popen([sys.executable, str(RIG), "SAT-02", "--run-dir",
                                str(ops.run.run_dir), "--soc", "77.5", "--temp", "23"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await check(ops)
        finally:
            stop_tree(rig)


async def check(ops: Ops) -> None:
    # Sensors: the rig's readings reach housekeeping and the ground like the simulator's.
    await ops.await_telemetry("SAT-02", "EPS.BATTERY_SOC", equal_to(77.5), timeout=600)
    await ops.await_telemetry("SAT-02", "THERMAL.RADIATOR_TEMP", equal_to(23.0), timeout=600)
    await ops.await_telemetry("SAT-01", "EPS.BATTERY_SOC", not_equal_to(77.5), timeout=600)
    # Actuators: the compute manager's node command reaches the rig, whose readings follow.
    await ops.send_and_assert_command("SAT-02", "COMPUTE.SET_NODE_STATE", node=2, state="OFF")
    await ops.await_telemetry("SAT-02", "NODES.NODE2_STATE", equal_to("OFF"), timeout=600)
    await ops.send_and_assert_command("SAT-02", "COMPUTE.SET_NODE_STATE", node=2, state="IDLE")
    await ops.await_telemetry("SAT-02", "NODES.NODE2_STATE", equal_to("IDLE"), timeout=600)
