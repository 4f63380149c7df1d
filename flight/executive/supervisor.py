"""Supervision of a satellite's apps: start, watch, restart with back-off, stop.

The supervised apps run in processes forked from the executive's zygote: one process per app
by default, or all of them in one process when the run says ``app_hosting = "together"`` (for
very large fleets: a satellite then costs two processes fewer), or in the executive's own
process with ``app_hosting = "executive"``, where the host that stops and starts is the apps
themselves (:mod:`flight.executive.hosts`); everything below holds for it too, a host's end
standing for a process's exit. An app is RUNNING once it announces itself ready on the bus;
it is restarted when its host ends without being asked to, or when its heartbeat goes
silent, after a back-off that doubles with every restart in a row (on simulated time, with a
wall-clock floor so that a crash loop cannot spin the machine). Every start, exit and restart
is an event, for each app; the table is in the executive's housekeeping.

Apps that share a process share its fate: when it exits, every app in it exits, and all of
them are restarted together. Stopping one of them restarts the process without it; starting
it again restarts the process with it. Fault protection, when it shares the process, is down
while the executive reports that process's exit and restart, so its event-actions on those
events do not fire for it. Starts, stops and restarts are made one at a time.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flight.executive.hosts import Hosts
from flight.framework.busy import BUSY_FACTOR, BusyCheck
from flight.framework.lookout import Lookout

if TYPE_CHECKING:
    from flight.executive.app import Executive

#: Wall seconds an app gets to stop on SIGTERM before SIGKILL (the executive stops in 2 s).
TERM_GRACE_WALL_S = 1.5
#: Simulated seconds of running after which the restart back-off starts again from the first.
STABLE_AFTER_S = 300.0


def host_groups(hosting: str, names: list[str]) -> list[list[str]]:
    """The apps each host runs, for the run's ``app_hosting`` (checked by the run)."""
    return [[name] for name in names] if hosting == "separate" else [list(names)]


@functools.cache
def _table_keys(app: str) -> tuple[str, str, str, str]:
    """An app's parameters in the app table (made once: the table goes down at every
    housekeeping report)."""
    return f"{app}_STATE", f"{app}_PID", f"{app}_RESTARTS", f"{app}_LAST_EXIT"


@dataclass
class Child:
    """The supervisor's record of one app."""

    name: str
    state: str = "STOPPED"
    pid: int = 0
    restarts: int = 0
    consecutive: int = 0
    last_exit: int = 0
    wanted: bool = True
    restart_now: bool = False
    #: Which start of its host it is (apps hosted in place share their pid across starts).
    generation: int = 0
    #: Its process has been told to end (or killed): what is sent to it now would be lost.
    leaving: bool = False
    started_sim: float = 0.0
    last_beat_sim: float = 0.0
    last_beat_wall: float = 0.0


class Supervisor:
    """Starts and watches the apps of one satellite."""

    def __init__(self, executive: Executive, hosts: Hosts, names: list[str],
                 hosting: str = "separate") -> None:
        self.exe = executive
        self.hosts = hosts
        self.children = {name: Child(name) for name in names}
        #: Each app's process mates (itself included), in start order.
        self._group: dict[str, list[Child]] = {}
        for group in host_groups(hosting, names):
            for name in group:
                self._group[name] = [self.children[mate] for mate in group]
        self.shutting_down = False
        self._by_pid: dict[int, list[Child]] = {}
        self._pending: set[asyncio.Task[Any]] = set()
        #: One start, stop or restart at a time: one that came while a process was being
        #: forked would see its apps without a pid and fork them a second time.
        self._changing = asyncio.Lock()
        hosts.on_exit(self._exited)
        #: The watchdog's checks, every heartbeat period (at least a simulated second), and
        #: the stalls of this process taken off every app's silence.
        timing = executive.runtime.run.timing
        self.lookout = Lookout(max(1.0, timing.heartbeat_s), executive.clock.now(),
                               time.monotonic(),
                               behind_cap_wall_s=BUSY_FACTOR * 2 * timing.heartbeat_timeout_wall_s)
        #: Apps silent past the bars whose process is busy are not killed (yet).
        self.busy = BusyCheck()

    # --- starting --------------------------------------------------------------------------------

    async def start_all(self) -> None:
        """Start every app."""
        for child in self.children.values():
            await self.start(child.name)

    async def start(self, name: str) -> None:
        """Start ``name`` if it is not running (restarting its process mates, if any run)."""
        child = self.children[name]
        child.wanted = True
        async with self._changing:
            if child.pid or self.shutting_down:
                return
            running = [mate for mate in self._group[name] if mate.pid]
            if running:
                # The process they share must start again, with this app in it this time.
                self._restart_soon(running)
                await self._terminate(running)
                return
            await self._spawn([mate for mate in self._group[name] if mate.wanted])

    @staticmethod
    def _restart_soon(children: list[Child]) -> None:
        """Mark apps to be started again at once when their process exits (counted once)."""
        for child in children:
            if not child.restart_now:
                child.restart_now = True
                child.restarts += 1

    async def _spawn(self, children: list[Child]) -> None:
        """Start one host running ``children``."""
        for child in children:
            child.state = "STARTING"
        # Fault protection, if among them, is told which apps are stopped by command: it may
        # have been killed (with a process mate being stopped) before it saw the command.
        stopped = sorted(child.name for child in self.children.values() if not child.wanted)
        pid = await self.hosts.spawn([child.name for child in children], stopped)
        for child in children:
            child.generation = self.hosts.generation
        now_sim, now_wall = self.exe.clock.now(), time.monotonic()
        for child in children:
            child.pid = pid
            child.leaving = False
            child.started_sim = child.last_beat_sim = now_sim
            child.last_beat_wall = now_wall
            self.busy.heard(child.name)
        self._by_pid[pid] = children
        for child in children:
            self.exe.event("APP_STARTED", app=child.name, pid=pid)
        if pid in self.hosts.exits:  # it died before we even recorded it
            self._exited(pid, self.hosts.exits[pid])

    def _current(self, name: str, pid: int, generation: int) -> Child | None:
        """The child ``name``, if a message with ``pid`` and ``generation`` is from the app
        running now (not from one that ended: a process of another pid, or an earlier start
        of apps hosted in place)."""
        child = self.children.get(name)
        if child is None or child.pid != pid or child.generation != generation:
            return None
        return child

    def ready(self, name: str, pid: int, generation: int = 0) -> None:
        """``name`` announced itself ready on the bus."""
        child = self._current(name, pid, generation)
        if child is not None:
            child.state = "RUNNING"
            self.beat(name, pid, generation)
            self.exe.gate.ready(name)
            if all(c.state == "RUNNING" for c in self.children.values()):
                self.exe.all_running()

    def beat(self, name: str, pid: int, generation: int = 0) -> None:
        """A heartbeat from ``name`` (an app beats once it is live on the bus: one still
        STARTING is ready — its READY came before its pid was recorded, and was ignored)."""
        child = self._current(name, pid, generation)
        if child is not None and child.state == "STARTING":
            self.ready(name, pid, generation)
        elif child is not None:
            child.last_beat_sim = self.exe.clock.now()
            child.last_beat_wall = time.monotonic()
            self.busy.heard(child.name)

    # --- exits and restarts ----------------------------------------------------------------------

    def _exited(self, pid: int, status: int) -> None:
        children = self._by_pid.pop(pid, None)
        if children is None:
            return
        for child in children:
            child.pid = 0
            child.last_exit = max(-32768, min(status, 32767))
            self.exe.event("APP_EXITED", app=child.name, status=child.last_exit)
        wanted = []
        asked = any(child.restart_now for child in children)
        for child in children:
            child.restart_now = False
            if self.shutting_down or not child.wanted:
                child.state = "STOPPED"
            else:
                wanted.append(child)
        if not wanted:
            return
        if asked:
            self._later(self.start(wanted[0].name))
            return
        timing = self.exe.runtime.run.timing
        delay = 0.0
        for child in wanted:
            if self.exe.clock.now() - child.started_sim > STABLE_AFTER_S:
                child.consecutive = 0
            child.consecutive += 1
            child.restarts += 1
            delay = max(delay, min(timing.restart_backoff_s * 2 ** (child.consecutive - 1),
                                   timing.restart_backoff_max_s))
        for child in wanted:
            child.state = "BACKOFF"
            self.exe.event("APP_RESTARTING", app=child.name, restarts=child.restarts,
                           delay=delay)
        self._later(self._restart_after(wanted, delay))

    async def _restart_after(self, children: list[Child], delay: float) -> None:
        wall_start = time.monotonic()
        await self.exe.clock.sleep(delay)
        floor = self.exe.runtime.run.timing.restart_backoff_wall_s
        await asyncio.sleep(max(0.0, floor - (time.monotonic() - wall_start)))
        for child in children:  # the first still wanted starts them all (its mates with it)
            if child.wanted and not child.pid and not self.shutting_down:
                await self.start(child.name)
                return

    def _later(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def check_heartbeats(self, due: float | None = None) -> None:
        """Kill (and so restart) any app whose heartbeat is silent for too long.

        Fault protection watches heartbeats first and asks for a restart; this watchdog is the
        backstop for when fault protection itself is silent, so it waits twice as long. With
        ``due``, the time the check was due: a check so late that the executive had stalled,
        or that finds it behind on its input, takes that time off every app's silence
        (:mod:`flight.framework.lookout`).
        """
        timing = self.exe.runtime.run.timing
        now_sim, now_wall = self.exe.clock.now(), time.monotonic()
        if due is not None:
            given = self.lookout.look(due, now_sim, now_wall, self.exe.input_backlogs())
            if given[0]:
                for child in self.children.values():
                    child.last_beat_sim, child.last_beat_wall = Lookout.shifted(
                        child.last_beat_sim, child.last_beat_wall, given, now_sim, now_wall)
        for child in self.children.values():
            if not child.pid or child.state not in ("RUNNING", "STARTING"):
                continue
            silent_sim = now_sim - child.last_beat_sim
            silent_wall = now_wall - child.last_beat_wall
            limit_wall = (2 * timing.heartbeat_timeout_wall_s if child.state == "RUNNING"
                          else timing.ready_timeout_wall_s)
            if silent_sim > 2 * timing.heartbeat_timeout_s and silent_wall > limit_wall:
                if not self.hosts.in_process and self.busy.working(
                        child.name, child.pid, now_wall, silent_wall, limit_wall):
                    continue  # busy, not hung: its beats are late (flight.framework.busy)
                self.exe.event("APP_HEARTBEAT_LOST", app=child.name, age=silent_sim)
                self._leaving(child.pid)
                self._signal(child.pid, signal.SIGKILL)
                self.busy.heard(child.name)
                # Once is enough: until the exit is reaped, later checks (several may come
                # due in one wake-up at a high rate) must not raise it again, nor its process
                # mates' silence (the same process, killed already).
                for mate in self._group[child.name]:
                    if mate.pid == child.pid:
                        mate.last_beat_sim, mate.last_beat_wall = now_sim, now_wall

    # --- stopping --------------------------------------------------------------------------------

    async def stop(self, name: str) -> None:
        """Stop ``name`` and keep it stopped (its process mates start again without it)."""
        child = self.children[name]
        child.wanted = False
        async with self._changing:
            mates = [mate for mate in self._group[name] if mate is not child and mate.pid]
            self._restart_soon(mates)
            await self._terminate([child, *mates])
        self.exe.event("APP_STOPPED", app=name)

    async def restart(self, name: str) -> None:
        """Stop ``name`` and start it again at once (no back-off), with its process mates."""
        child = self.children[name]
        async with self._changing:
            if child.pid:
                self._restart_soon([mate for mate in self._group[name] if mate.pid])
                await self._terminate([child])
                return
        await self.start(name)

    async def shutdown(self) -> None:
        """Stop every app: SIGTERM, then SIGKILL what is left after the grace period."""
        self.shutting_down = True
        for task in list(self._pending):
            task.cancel()
        async with self._changing:
            await self._terminate(list(self.children.values()))

    async def _terminate(self, children: list[Child]) -> None:
        pids = sorted({child.pid for child in children if child.pid})
        for pid in pids:
            self._leaving(pid)
            self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE_WALL_S
        while time.monotonic() < deadline and any(pid in self._by_pid for pid in pids):
            await asyncio.sleep(0.01)
        for pid in pids:
            if pid in self._by_pid:
                self._signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 0.4
        while time.monotonic() < deadline and any(pid in self._by_pid for pid in pids):
            await asyncio.sleep(0.01)

    def _signal(self, pid: int, sig: int) -> None:
        self.hosts.signal(pid, sig)

    def _leaving(self, pid: int) -> None:
        for child in self._by_pid.get(pid, ()):
            child.leaving = True

    # --- what the uplink may send --------------------------------------------------------------

    def on_bus(self, name: str) -> bool:
        """``name`` is ready and staying: a telecommand published now reaches it."""
        child = self.children[name]
        return bool(child.pid) and child.state == "RUNNING" and not child.leaving

    def coming_back(self, name: str) -> bool:
        """``name`` is not stopped for good: it will be on the bus again."""
        return self.children[name].wanted and not self.shutting_down

    # --- reporting -------------------------------------------------------------------------------

    def table(self) -> dict[str, Any]:
        """The app table for housekeeping (by short parameter name)."""
        values: dict[str, Any] = {}
        running = 0
        for child in self.children.values():
            state, pid, restarts, last_exit = _table_keys(child.name)
            values[state] = child.state
            values[pid] = child.pid
            values[restarts] = min(child.restarts, 0xFFFF)
            values[last_exit] = child.last_exit
            running += child.state == "RUNNING"
        values["APPS_RUNNING"] = running
        return values
