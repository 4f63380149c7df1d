"""Launching a small fleet for tests: satellites, then the simulated hardware, all real."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from common.clock import ClockMaster
from common.control import ControlError, parse_report
from common.curve import make_keys
from common.endpoints import Endpoints
from common.orbits import Constellation
from common.runconfig import RunConfig, Timing, new_run
from common.sdls import KEY_FILE, generate_keys, write_key_file
from flight.framework.runtime import initial_clock_state
from tests.process.conftest import stop_tree
from tests.process.groundside import GroundSide

#: A date in the June eclipse season (node at 18:00): the orbit crosses the Earth's shadow.
JUNE = dt.datetime(2026, 6, 21, 0, 0, tzinfo=dt.UTC)
MARCH = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


@dataclass
class Fleet:
    """Running satellites with their simulated hardware (and, if asked, the ground segment).

    Without the ground segment the test owns the clock (``clock``) and talks to each radio
    directly (``ground``); with it, ground control owns the clock and the test uses a client.
    """

    run: RunConfig
    satellites: dict[str, subprocess.Popen[bytes]]
    sim: subprocess.Popen[bytes] | None
    ground: dict[str, GroundSide]
    clock: ClockMaster | None
    context: zmq.Context[Any]
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop_ground(self) -> None:
        """End ground control (SIGTERM) and wait for it."""
        ground = self.extra[0]
        ground.terminate()
        ground.wait(10)

    def start_ground(self) -> None:
        """Start ground control again on the same run."""
        self.extra[0] = _spawn(self.run, ["ground", "--clock-master"], "ground")

    def stop(self) -> None:
        for side in self.ground.values():
            side.close()
        if self.clock is not None:
            self.clock.close()
        self.context.destroy(0)
        for process in [*self.extra, *([self.sim] if self.sim else []),
                        *self.satellites.values()]:
            stop_tree(process)


def launch(run_dir: Path, *, satellites: int = 1, epoch: dt.datetime = MARCH, rate: float = 50.0,
           hardware: dict[str, Any] | None = None, timing: Timing | None = None,
           with_sim: bool = True, seed: int = 1, start: float | None = None,
           with_ground: bool = False, stations: tuple[str, ...] = ("china",),
           link: dict[str, Any] | None = None, security: bool = False,
           transport: str = "ipc", slot_spacing_deg: float = 0.0) -> Fleet:
    """Start ``satellites`` satellites (SAT-01...), their simulated hardware when asked, and
    the ground segment (link emulator, ground control as clock master) when asked.

    Orbits are generated at ``epoch``; simulated time starts at ``start`` (default: epoch).
    Returns once every satellite answers a ping (without ground) or ground control is up (with
    it); the caller must ``stop()`` the fleet in a finally.
    """
    constellation = Constellation(epoch, per_plane=satellites, slot_spacing_deg=slot_spacing_deg)
    tle = {e.name: e.to_tle() for e in constellation.elements()}
    key_file = ""
    if security:
        key_file = str(write_key_file(Path(run_dir) / "keys" / KEY_FILE,
                                      generate_keys(constellation.names())))
    run = new_run(run_dir, tuple(constellation.names()), rate=rate,
                  sim_start=epoch.timestamp() if start is None else start, timing=timing,
                  tle=tle, hardware=hardware, seed=seed, stations=stations, link=link,
                  key_file=key_file, transport=transport)
    run.save()
    if transport == "tcp":
        make_keys(run.run_dir, ["GROUND", "LINK", "operator", *run.satellites])
    context = zmq.Context()
    clock = None
    if not with_ground:
        clock = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run),
                            run.run_dir)
    fleet = Fleet(run, {}, None, {}, clock, context)
    reports = None
    try:
        if with_ground:
            # Readiness, not sleep: every process reports ready on the run's control socket.
            reports = context.socket(zmq.PULL)
            reports.setsockopt(zmq.LINGER, 0)
            reports.bind(Endpoints(run).control())
            fleet.extra.append(_spawn(run, ["ground", "--clock-master"], "ground"))
        for name in run.satellites:
            fleet.satellites[name] = _spawn(run, ["sat", name, "--no-clock-master"], name)
        if with_ground:
            fleet.extra.append(_spawn(run, ["link"], "link"))
        for name in run.satellites:
            fleet.ground[name] = GroundSide(run, name)
        if reports is not None:
            _await_reports(reports, {"GROUND", "LINK", *run.satellites}, fleet)
        else:
            # Readiness: every satellite answers a ping on its own radio (the test set's side
            # door). Not with ground control: its signed commands own the anti-replay counter.
            for name in run.satellites:
                fleet.ground[name].ping_until_alive()
        if with_sim:
            fleet.sim = _spawn(run, ["sim"], "sim")
    except BaseException:
        fleet.stop()
        raise
    finally:
        if reports is not None:
            reports.close(0)
    return fleet


def _await_reports(sock: zmq.Socket[Any], names: set[str], fleet: Fleet,
                   wall_s: float = 60.0) -> None:
    """Wait until every process in ``names`` has reported ready; name the missing ones."""
    deadline = time.monotonic() + wall_s
    waiting = set(names)
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"not ready within {wall_s} s: {', '.join(sorted(waiting))}")
        for process in [*fleet.extra, *fleet.satellites.values()]:
            if process.poll() is not None:
                raise AssertionError(f"a process of the fleet ended: {process.args}")
        if sock.poll(min(left, 0.5) * 1000):
            try:
                report = parse_report(sock.recv_multipart())
            except ControlError:
                continue
            if report["state"] == "ready":
                waiting.discard(report["process"])


def _spawn(run: RunConfig, args: list[str], name: str) -> subprocess.Popen[bytes]:
    log = open(Path(run.run_dir) / f"{name}.stderr", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "scenarios.cli", *args, "--run-dir",
                             run.run_dir], stdout=subprocess.DEVNULL, stderr=log)
