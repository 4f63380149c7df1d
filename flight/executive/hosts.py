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

    @property
    def exits(self) -> dict[int, int]:
        """Exit status of every host that has ended, by number."""

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        """Call ``handler(host, status)`` for every host that ends."""

    async def spawn(self, names: list[str], stopped: list[str]) -> int:
        """Start a host running the apps ``names`` (``stopped``: those held stopped)."""

    def signal(self, host: int, sig: int) -> None:
        """Ask ``host`` to end (SIGTERM) or make it (SIGKILL)."""


class ProcessHosts:
    """Each host a process forked from the executive's zygote."""

    in_process = False

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
    """The apps in the executive's own process: made, started and stopped in place."""

    in_process = True

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        self.runtime = runtime
        self.satellite = satellite
        self.number = os.getpid()
        self.exits: dict[int, int] = {}
        self._handlers: list[Callable[[int, int], None]] = []
        self._apps: list[Any] = []
        self._starting: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        self._handlers.append(handler)

    async def spawn(self, names: list[str], stopped: list[str]) -> int:
        from flight.registry import app_class

        self.exits.pop(self.number, None)  # the number is reused: an earlier end is not this one
        # Fault protection reads the apps held stopped when it is made (as in its own process).
        self.runtime.stopped_apps = frozenset(stopped)
        apps = [app_class(name)(self.runtime, self.satellite) for name in names]
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
        if host != self.number or not self._apps:
            return
        apps, self._apps = self._apps, []
        self._end_later(apps, -sig)

    def _end_later(self, apps: list[Any], status: int) -> None:
        task = asyncio.ensure_future(self._end(apps, status))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _end(self, apps: list[Any], status: int) -> None:
        starting, self._starting = self._starting, None
        if starting is not None and not starting.done() and starting is not asyncio.current_task():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
        for app in apps:
            try:
                await app.stop(-status if status < 0 else 0)
            except Exception:
                _log.exception("app failed to stop", satellite=self.satellite, app=app.NAME)
        self.exits[self.number] = status
        for handler in list(self._handlers):
            handler(self.number, status)
