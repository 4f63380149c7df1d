"""Launching a small fleet for tests: satellites, then the simulated hardware, all real."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from common.clock import ClockMaster
from common.endpoints import Endpoints
from common.orbits import Constellation
from common.runconfig import RunConfig, Timing, new_run
from flight.framework.runtime import initial_clock_state
from tests.process.conftest import stop_tree
from tests.process.groundside import GroundSide

#: A date in the June eclipse season (node at 18:00): the orbit crosses the Earth's shadow.
JUNE = dt.datetime(2026, 6, 21, 0, 0, tzinfo=dt.UTC)
MARCH = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


@dataclass
class Fleet:
    """Running satellites with their simulated hardware."""

    run: RunConfig
    satellites: dict[str, subprocess.Popen[bytes]]
    sim: subprocess.Popen[bytes] | None
    ground: dict[str, GroundSide]
    clock: ClockMaster
    context: zmq.Context[Any]
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for side in self.ground.values():
            side.close()
        self.clock.close()
        self.context.destroy(0)
        for process in [*self.extra, *([self.sim] if self.sim else []),
                        *self.satellites.values()]:
            stop_tree(process)


def launch(run_dir: Path, *, satellites: int = 1, epoch: dt.datetime = MARCH, rate: float = 50.0,
           hardware: dict[str, Any] | None = None, timing: Timing | None = None,
           with_sim: bool = True, seed: int = 1) -> Fleet:
    """Start ``satellites`` satellites (SAT-01...) and, when asked, their simulated hardware.

    Returns once every satellite answers a ping; the caller must ``stop()`` it (in a finally).
    """
    constellation = Constellation(epoch, per_plane=satellites)
    tle = {e.name: e.to_tle() for e in constellation.elements()}
    run = new_run(run_dir, tuple(constellation.names()), rate=rate, sim_start=epoch.timestamp(),
                  timing=timing, tle=tle, hardware=hardware, seed=seed)
    run.save()
    context = zmq.Context()
    clock = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run), run.run_dir)
    fleet = Fleet(run, {}, None, {}, clock, context)
    try:
        for name in run.satellites:
            fleet.satellites[name] = _spawn(run, ["sat", name, "--no-clock-master"], name)
        for name in run.satellites:
            fleet.ground[name] = GroundSide(run, name)
            fleet.ground[name].ping_until_alive()
        if with_sim:
            fleet.sim = _spawn(run, ["sim"], "sim")
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _spawn(run: RunConfig, args: list[str], name: str) -> subprocess.Popen[bytes]:
    log = open(Path(run.run_dir) / f"{name}.stderr", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "scenarios.cli", *args, "--run-dir",
                             run.run_dir], stdout=subprocess.DEVNULL, stderr=log)
