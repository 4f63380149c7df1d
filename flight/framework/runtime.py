"""Hosting flight apps in a process: one shared runtime, apps started and stopped together.

Several apps may share one runtime (one process): each app keeps its own sockets and state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Sequence
from typing import Any

import structlog

from common import collector, control, logs
from common.runconfig import RunConfig
from common.runtime import Runtime, initial_clock_state
from flight.framework.decoded import DECODED

__all__ = ["Runtime", "StopSignals", "host_apps", "initial_clock_state", "keep_run", "kept_run",
           "serve"]

#: Run configurations read before forking, by run directory (the file does not change in a run).
_KEPT_RUNS: dict[str, RunConfig] = {}


class StopSignals:
    """SIGTERM and SIGINT, caught on the running loop: ``stopping`` is set by the first, and
    ``signal`` is the first received (0 until one is)."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.signal = 0
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._received, int(sig))

    def _received(self, sig: int) -> None:
        self.signal = self.signal or sig
        self.stopping.set()

    async def unless_stopped(self, work: Awaitable[Any]) -> bool:
        """Await ``work`` unless a stop signal comes first (True if it finished); a signal
        first cancels it. What ``work`` raises is raised here."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            return False
        task.result()
        return True


def keep_run(run: RunConfig) -> None:
    """Keep ``run`` for the processes forked from here: reading and parsing ``run.json`` in
    each of them cost ~0.5 MiB of private memory apiece."""
    _KEPT_RUNS[run.run_dir] = run


def kept_run(run_dir: str) -> RunConfig:
    """The run in ``run_dir``: as kept before this process was forked, else read from disk."""
    return _KEPT_RUNS.get(run_dir) or RunConfig.load(run_dir)


def host_apps(run_dir: str, satellite: str, names: list[str], stopped: Sequence[str] = ()) -> int:
    """Process entry point: run the flight apps ``names`` of ``satellite`` until SIGTERM;
    ``stopped`` names the apps of the satellite held stopped by command."""
    from flight.registry import app_class

    run = kept_run(run_dir)
    process = f"{satellite}.{'+'.join(names)}"
    log = logs.configure(run.run_dir, process, satellite=satellite)
    try:
        return asyncio.run(_host(run, satellite, [app_class(name) for name in names], log,
                                 frozenset(stopped)))
    except Exception:
        log.exception("process failed")
        return 1


async def _host(run: RunConfig, satellite: str, classes: list[type[Any]],
                log: structlog.stdlib.BoundLogger, stopped: frozenset[str]) -> int:
    DECODED.sharing = len(classes) > 1  # apps of one satellite: they receive the same packets

    def make_apps(runtime: Runtime) -> list[Any]:
        runtime.stopped_apps = stopped
        return [klass(runtime, satellite) for klass in classes]

    return await serve(run, make_apps, log)


async def serve(run: RunConfig, make_apps: Any, log: structlog.stdlib.BoundLogger,
                ready_as: str | None = None) -> int:
    """Run the apps ``make_apps(runtime)`` builds until SIGTERM or SIGINT, then stop them."""
    runtime = Runtime(run)
    runtime.follow_clock()
    apps = make_apps(runtime)
    signals = StopSignals()
    try:
        # A start can wait long (an app proves its subscriptions live on a bus that may be
        # gone: its executive killed): a stop signal cancels it, and the apps stop as they are.
        if await signals.unless_stopped(_start_all(apps)):
            collector.settle()
            if ready_as is not None:
                control.report(runtime.context, runtime.endpoints, ready_as)
            await signals.stopping.wait()
    finally:
        for app in apps:
            with contextlib.suppress(Exception):
                await app.stop(signals.signal)
        runtime.close()
    log.info("exiting", signal=signals.signal, packets_decoded=DECODED.decoded,
             decodes_shared=DECODED.hits)
    return 0


async def _start_all(apps: list[Any]) -> None:
    for app in apps:
        await app.start()
