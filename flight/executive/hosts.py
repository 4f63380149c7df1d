"""Where a satellite's supervised apps run: processes forked from the zygote, or in place.

The supervisor (:mod:`flight.executive.supervisor`) starts, signals and hears the end of
*hosts*, each running one or more apps, and knows them by a number: a process id for
:class:`ProcessHosts`. :class:`InProcessHosts` runs the apps in the executive's own process
(``app_hosting = "executive"``), on the bus in memory: its one host is numbered with the
executive's pid — which is also what those apps put in their heartbeats — and a signal stops
the apps in place, after which the host "exits" as a process would, so that restarts, back-off,
events and the app table work as they do for processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from common.logs import log_path
from common.runconfig import RunConfig
from common.runtime import Runtime
from common.zygote import Zygote

HOST_TARGET = "flight.framework.runtime:host_apps"
#: Exit status of a host whose apps failed to start.
START_FAILED = 1

_log = structlog.get_logger("hosts")


class Hosts(Protocol):
    """What the supervisor needs of wherever its apps run."""

    #: True when the apps run in the supervisor's own process: its CPU is not theirs to judge.
    in_process: bool
    #: Which start of a host the apps of the last spawn are (0 where each host is a process of
    #: its own, told apart by its pid); an app puts it in its READY and heartbeats.
    generation: int

    @property
    def exits(self) -> dict[int, int]:
        """Exit status of every host that has ended, by number."""

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        """Call ``handler(host, status)`` for every host that ends."""

    async def spawn(self, names: list[str], stopped: list[str]) -> int:
        """Start a host running the apps ``names`` (``stopped``: those held stopped)."""

    def signal(self, host: int, sig: int) -> None:
        """Ask ``host`` to end (SIGTERM) or end it at once (SIGKILL)."""


class ProcessHosts:
    """Each host a process forked from the executive's zygote."""

    in_process = False
    generation = 0

    def __init__(self, zygote: Zygote, run: RunConfig, satellite: str) -> None:
        self.zygote = zygote
        self.run = run
        self.satellite = satellite

    @property
    def exits(self) -> dict[int, int]:
        return self.zygote.exits

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        self.zygote.on_exit(handler)

    async def spawn(self, names: list[str], stopped: list[str]) -> int:
        process = f"{self.satellite}.{'+'.join(names)}"
        stdio = log_path(self.run.run_dir, process).with_suffix(".stderr")
        return await self.zygote.spawn(HOST_TARGET, [self.run.run_dir, self.satellite, names,
                                                     stopped], str(stdio))

    def signal(self, host: int, sig: int) -> None:
        if host <= 0:  # 0 or -1 would signal a whole process group
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(host, sig)


class InProcessHosts:
    """The apps in the executive's own process: made, started and stopped in place.

    Every spawn is a new *generation*, given to its apps: the heartbeats and READY of apps
    stopped a moment ago, still on their way, carry the same pid as the new ones, and must not
    make the new ones ready before they are on the bus.
    """

    in_process = True

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        self.runtime = runtime
        self.satellite = satellite
        self.number = os.getpid()
        self.generation = 0
        self.exits: dict[int, int] = {}
        self._handlers: list[Callable[[int, int], None]] = []
        self._apps: list[Any] = []
        self._starting: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        self._handlers.append(handler)

    async def spawn(self, names: list[str], stopped: list[str]) -> int:
        from flight.registry import app_class

        self.exits.pop(self.number, None)  # the number is reused: an earlier end is not this one
        self.generation += 1
        # Fault protection reads the apps held stopped when it is made (as in its own process);
        # made here and now, before another satellite of the process spawns.
        self.runtime.stopped_apps = frozenset(stopped)
        apps: list[Any] = []
        try:
            for name in names:
                app = app_class(name)(self.runtime, self.satellite)
                app.generation = self.generation
                apps.append(app)
        except Exception:  # as a process that fails at once: it ends, and is restarted
            _log.exception("apps could not be made", satellite=self.satellite, apps=names)
            self._end_later(apps, START_FAILED)
            return self.number
        self._apps = apps
        self._starting = asyncio.ensure_future(self._start(apps))
        return self.number

    async def _start(self, apps: list[Any]) -> None:
        try:
            for app in apps:
                await app.start()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("apps failed to start", satellite=self.satellite,
                           apps=[app.NAME for app in apps])
            if apps is self._apps:
                self._apps = []
                self._end_later(apps, START_FAILED)

    def signal(self, host: int, sig: int) -> None:
        if host != self.number:
            return
        if self._apps:
            apps, self._apps = self._apps, []
            self._end_later(apps, -sig)
        elif sig == signal.SIGKILL and self._ending is not None and not self._ending.done():
            self._ending.cancel()  # their stops take too long: they end now, as a kill would

    def _end_later(self, apps: list[Any], status: int) -> None:
        self._ending = asyncio.ensure_future(self._end(apps, status))

    async def _end(self, apps: list[Any], status: int) -> None:
        starting, self._starting = self._starting, None
        try:
            if starting is not None and not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await starting
            for app in apps:
                try:
                    await app.stop(-status if status < 0 else 0)
                except Exception:
                    _log.exception("app failed to stop", satellite=self.satellite, app=app.NAME)
        except asyncio.CancelledError:
            status = -signal.SIGKILL
        self.exits[self.number] = status
        for handler in list(self._handlers):
            handler(self.number, status)
