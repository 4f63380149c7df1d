"""Launching a whole fleet, gating on readiness, and making sure every process ends.

The launcher imports everything the fleet runs, forks a zygote (before any ZeroMQ context), and
has it fork ground control (the clock master), one executive per satellite (or per group of
``run.flight_group`` satellites), the space link and the simulated hardware — each sharing the
preloaded image. Every process reports ready on the
run's control socket; a process that has not when the timeout hits is named. If the launcher
dies, even by ``kill -9``, the kernel's parent-death signals take the zygote down and, through
it, every process of the fleet; ``stop()`` (and Ctrl-C, an exception, or a process that fails)
ends them all explicitly. Once every process is gone, ``stop()`` removes the run's socket
directory (:func:`remove_socket_dir`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import zmq

from common.control import ControlError, parse_report
from common.endpoints import Endpoints
from common.logs import log_path
from common.runconfig import RunConfig
from common.zmqloop import Readable, drain
from common.zygote import Zygote
from scenarios.processes import alive as is_alive

TARGETS = {
    "GROUND": "ground.control.service:run_ground",
    "LINK": "ground.link.emulator:run_link",
    "SIM": "flight.sim.main:run_sim",
    "FLIGHT": "flight.executive.main:run_satellites",
}
#: Wall seconds processes get to stop on SIGTERM before SIGKILL.
STOP_GRACE_WALL_S = 5.0


class LaunchError(RuntimeError):
    """The fleet could not be brought up (the message names what is missing or failed)."""


def preload() -> None:
    """Import what every process of a fleet needs, so the zygote's children share it."""
    import common.orbits
    import flight.registry
    import flight.sim.main
    import ground.control.service
    import ground.link.emulator  # noqa: F401

    flight.registry.preload()
    common.orbits.timescale()
    common.orbits.ephemeris()
    from flight.framework.warmup import warm_up

    warm_up()  # codecs built and code specialised once, shared by every executive


def sim_groups(run: RunConfig, hil: tuple[str, ...] = ()) -> list[tuple[str, list[str]]]:
    """The simulator processes of a run, as (process name, satellites it plays): groups of
    ``run.sim_group`` satellites, not those a rig plays; one group is named ``SIM``, several
    ``SIM-1``, ``SIM-2``, …"""
    played = [satellite for satellite in run.satellites if satellite not in hil]
    groups = [played[i:i + run.sim_group] for i in range(0, len(played), run.sim_group)]
    if len(groups) <= 1:
        return [("SIM", groups[0] if groups else [])]
    return [(f"SIM-{number}", group) for number, group in enumerate(groups, 1)]


def flight_groups(run: RunConfig) -> list[tuple[str, list[str]]]:
    """The executives' processes of a run, as (process name, satellites it runs): one per
    satellite, named after it, or groups of ``run.flight_group`` named ``FLIGHT-1``, …"""
    if run.flight_group == 1:
        return [(satellite, [satellite]) for satellite in run.satellites]
    size = run.flight_group
    return [(f"FLIGHT-{number}", list(run.satellites[i:i + size]))
            for number, i in enumerate(range(0, len(run.satellites), size), 1)]


@dataclass
class Process:
    """One process the launcher started."""

    name: str
    pid: int
    ready: bool = False
    exit_status: int | None = None


@dataclass
class Launcher:
    """The processes of one run."""

    run: RunConfig
    with_sim: bool = True
    #: Satellites whose hardware someone else plays (a rig): the simulator leaves them out.
    hil: tuple[str, ...] = ()
    processes: dict[str, Process] = field(default_factory=dict)
    log: Any = field(default_factory=lambda: structlog.get_logger("launcher"))

    def __post_init__(self) -> None:
        self.zygote: Zygote | None = None
        self.context: zmq.Context[Any] | None = None
        self._ready = asyncio.Event()
        self._failed: list[str] = []
        self._stopping = False
        #: Messages on the control socket that were not process reports.
        self.rejected = 0
        self._reader: Readable | None = None

    # --- start ----------------------------------------------------------------------------------

    def fork_zygote(self) -> None:
        """Preload and fork the zygote; call before any ZeroMQ context exists in this process."""
        from flight.framework.runtime import keep_run

        preload()
        keep_run(self.run)  # every executive and app of the fleet shares it, parsed once
        self.zygote = Zygote.fork()

    async def start(self, timeout_wall_s: float = 60.0) -> None:
        """Start every process and wait until each has reported ready."""
        if self.zygote is None:
            raise LaunchError("fork_zygote() must come first (before any ZeroMQ context)")
        self.run.save()
        self.context = zmq.Context()
        control = self.context.socket(zmq.PULL)
        control.setsockopt(zmq.LINGER, 0)
        control.bind(Endpoints(self.run).control())
        self._control = control
        self._reader = Readable(control, self._reports)
        self.zygote.attach()
        self.zygote.on_exit(self._exited)
        run_dir = self.run.run_dir
        await self._spawn("GROUND", TARGETS["GROUND"], [run_dir, True])
        for name, group in flight_groups(self.run):
            await self._spawn(name, TARGETS["FLIGHT"],
                              [run_dir, group, None if group == [name] else name])
        await self._spawn("LINK", TARGETS["LINK"], [run_dir])
        if self.with_sim:
            for name, group in sim_groups(self.run, self.hil):
                others = [s for s in self.run.satellites if s not in group]
                await self._spawn(name, TARGETS["SIM"], [run_dir, others, False, name])
        try:
            await asyncio.wait_for(self._all_ready(), timeout_wall_s)
        except TimeoutError:
            missing = [p.name for p in self.processes.values() if not p.ready]
            raise LaunchError(f"not ready within {timeout_wall_s} s: {', '.join(missing)}; "
                              f"see {Path(run_dir) / 'logs'}") from None
        self.log.info("fleet ready", processes=len(self.processes),
                      pids={p.name: p.pid for p in self.processes.values()})

    async def _spawn(self, name: str, target: str, args: list[Any]) -> None:
        assert self.zygote is not None
        stdio = str(log_path(self.run.run_dir, name).with_suffix(".stderr"))
        pid = await self.zygote.spawn(target, args, stdio)
        self.processes[name] = Process(name, pid)

    async def _all_ready(self) -> None:
        while True:
            if self._failed:
                raise LaunchError(f"failed while starting: {', '.join(self._failed)}; see "
                                  f"{Path(self.run.run_dir) / 'logs'}")
            if all(p.ready for p in self.processes.values()):
                return
            self._ready.clear()
            await self._ready.wait()

    def _reports(self) -> None:
        for frames in drain(self._control, 100):
            try:
                message = parse_report(frames)
            except ControlError as exc:
                self.rejected += 1
                self.log.warning("control message rejected", error=str(exc))
                continue
            process = self.processes.get(message["process"])
            if process is not None and message.get("state") == "ready":
                process.ready = True
                self._ready.set()

    def _exited(self, pid: int, status: int) -> None:
        for process in self.processes.values():
            if process.pid == pid:
                process.exit_status = status
                if self._stopping:
                    self.log.info("process stopped", process=process.name, status=status)
                    continue
                self._failed.append(f"{process.name} (exit {status})")
                self.log.error("process ended", process=process.name, status=status)
                self._ready.set()

    @property
    def failures(self) -> list[str]:
        """Processes that ended on their own."""
        return list(self._failed)

    # --- stop -----------------------------------------------------------------------------------

    async def stop(self) -> None:
        """SIGTERM every process, SIGKILL what remains after the grace period, reap all."""
        self._stopping = True
        alive = [p for p in self.processes.values() if p.exit_status is None]
        for process in alive:
            _signal(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_WALL_S
        while time.monotonic() < deadline and any(p.exit_status is None for p in alive):
            await asyncio.sleep(0.05)
        for process in alive:
            if process.exit_status is None:
                _signal(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(p.exit_status is None for p in alive):
            await asyncio.sleep(0.05)
        if self._reader is not None:
            self._reader.close()
        if self.context is not None:
            self.context.destroy(0)
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        left = [p.name for p in self.processes.values()
                if p.exit_status is None and is_alive(p.pid)]
        if left:
            self.log.warning("socket directory kept: processes still alive", processes=left,
                             socket_dir=self.run.socket_dir)
        else:
            remove_socket_dir(self.run.socket_dir, self.run.run_dir)

    def pids(self) -> list[int]:
        """Every process id the launcher started (the zygote's included)."""
        own = [p.pid for p in self.processes.values()]
        return [*own, self.zygote.pid] if self.zygote is not None else own


def _signal(pid: int, sig: int) -> None:
    if pid <= 0:  # 0 or -1 would signal a whole process group
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def remove_socket_dir(socket_dir: str | Path, run_dir: str | Path) -> bool:
    """Remove a run's socket directory once nothing of the run is left to listen on it.

    Only the directory ``new_run`` makes for a run is touched: ``RUN_DIR/sock``, or the private
    ``dd-*`` directory directly under the temporary directory that stands in for it when the
    run directory's path is too long for ipc socket paths (that one is outside the run
    directory, so nothing else removes it). The socket files in it are unlinked, then the
    directory, which stays if anything else is in it. True when it is gone (or there was none).
    """
    if not socket_dir:  # tcp: no socket directory
        return True
    path = Path(socket_dir)
    temporary = {Path("/tmp"), Path(tempfile.gettempdir())}
    made = (path == Path(run_dir).resolve() / "sock"
            or (path.name.startswith("dd-") and path.parent in temporary))
    if not made:
        return False
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return True
    for entry in entries:
        try:
            if stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                os.unlink(entry.path)
        except FileNotFoundError:
            pass
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
