"""Fixtures that launch real satellites on ipc endpoints in a temporary run directory.

Every process started here is ended in the fixture's finally, failing test or not: the
executive by SIGTERM, then anything of its tree still alive by SIGKILL, by pid.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq

from common.clock import ClockMaster
from common.endpoints import Endpoints
from common.runconfig import RunConfig, Timing, new_run
from flight.framework.runtime import initial_clock_state
from tests.process.groundside import GroundSide
from tests.process.procs import descendants, stop_tree


@dataclass
class Satellite:
    """A running satellite under test."""

    name: str
    run: RunConfig
    process: subprocess.Popen[bytes]
    ground: GroundSide
    clock: ClockMaster

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> set[int]:
        return {*descendants(self.pid), self.pid}


def start_satellite(run_dir: Path, name: str = "SAT-01", rate: float = 10.0,
                    timing: Timing | None = None, app_hosting: str = "separate",
                    ) -> tuple[RunConfig, subprocess.Popen[bytes]]:
    run = new_run(run_dir, (name,), rate=rate, timing=timing, app_hosting=app_hosting)
    run.save()
    process = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "sat", name, "--run-dir", str(run_dir),
         "--no-clock-master"],
        stdout=subprocess.DEVNULL, stderr=open(run_dir / "sat.stderr", "wb"),  # noqa: SIM115
    )
    return run, process


@pytest.fixture
def satellite(tmp_path: Path) -> Iterator[Satellite]:
    """One satellite at rate 10, alive (it answered a ping) when the test starts."""
    yield from _satellite(tmp_path, "separate")


@pytest.fixture
def satellite_together(tmp_path: Path) -> Iterator[Satellite]:
    """The same, with every app of the satellite in one process (``app_hosting = together``)."""
    yield from _satellite(tmp_path, "together")


@pytest.fixture
def satellite_in_executive(tmp_path: Path) -> Iterator[Satellite]:
    """The same, with the apps in the executive's own process (``app_hosting = executive``)."""
    yield from _satellite(tmp_path, "executive")


def _satellite(tmp_path: Path, app_hosting: str) -> Iterator[Satellite]:
    run, process = start_satellite(tmp_path / "run", app_hosting=app_hosting)
    context = zmq.Context()
    master = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run), run.run_dir)
    ground = GroundSide(run, "SAT-01")
    try:
        ground.ping_until_alive()
        yield Satellite("SAT-01", run, process, ground, master)
    finally:
        ground.close()
        master.close()
        context.destroy(0)
        stop_tree(process)
