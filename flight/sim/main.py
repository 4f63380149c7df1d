"""The simulated-hardware process: one hardware model per satellite of the run, one process.

A satellite left out (``exclude``) can have its hardware played by something else that speaks
the same sensor and actuator packets: a hardware-in-the-loop rig, or another process.
"""

from __future__ import annotations

import asyncio
import random

from common import logs
from common.orbits import OrbitTrack, elements_from_tle
from common.runconfig import ConfigError, RunConfig
from flight.framework.runtime import Runtime, serve
from flight.sim.app import SimHardware
from flight.sim.models.satellite import HardwareConfig, SatelliteModel


def build(runtime: Runtime, satellites: list[str]) -> list[SimHardware]:
    """A hardware app per satellite, each with its own model, orbit and random stream."""
    run = runtime.run
    config = HardwareConfig(**run.hardware)
    apps = []
    for satellite in satellites:
        if satellite not in run.tle:
            raise ConfigError(f"tle: no element set for {satellite} in the run configuration")
        elements = elements_from_tle(satellite, *run.tle[satellite])
        index = run.satellites.index(satellite)
        model = SatelliteModel(config, random.Random(run.seed * 1000 + index))
        apps.append(SimHardware(runtime, satellite, model, OrbitTrack(elements), run.sim_step_s))
    return apps


def run_sim(run_dir: str, exclude: tuple[str, ...] | list[str] = (), console: bool = False,
            name: str = "SIM") -> int:
    """Process entry point: simulate the hardware of every satellite not in ``exclude``
    (``name``: the process's name in its log file and readiness report)."""
    run = RunConfig.load(run_dir)
    satellites = [satellite for satellite in run.satellites if satellite not in exclude]
    log = logs.configure(run.run_dir, name, console=console)
    try:
        return asyncio.run(serve(run, lambda runtime: build(runtime, satellites), log,
                                 ready_as=name))
    except Exception:
        log.exception("simulated hardware failed")
        return 1
