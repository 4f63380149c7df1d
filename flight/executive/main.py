"""The process of one satellite's executive: preload, fork the zygote, run until told to stop.

Order matters: every module the apps need is imported first, then the zygote is forked (before
any ZeroMQ context exists), and only then does the executive create its context, the bus proxy,
its own app and the radio, and start the supervised apps from the zygote.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from common import logs
from common.bus import BusProxy
from common.clock import ClockMaster
from common.runconfig import RunConfig
from common.zygote import Zygote
from flight.framework.runtime import Runtime, StopSignals, keep_run, kept_run
from flight.framework.warmup import warm_up
from flight.registry import preload


def run_satellite(run_dir: str, satellite: str, *, clock_master: bool = False,
                  console: bool = False) -> int:
    """Run ``satellite`` of the run in ``run_dir`` until SIGTERM or SIGINT; return the status."""
    run = kept_run(run_dir)
    if satellite not in run.satellites:
        raise SystemExit(f"{satellite} is not in the run ({', '.join(run.satellites)})")
    nice_error = _be_nice(run.timing.satellite_nice)
    preload()
    keep_run(run)
    warm_up()  # once: an executive forked from a fleet's launcher inherits a warm image
    zygote = Zygote.fork()
    log = logs.configure(run.run_dir, f"{satellite}.EXEC", console=console, satellite=satellite)
    if nice_error is not None:
        log.warning("niceness not changed", increment=run.timing.satellite_nice, error=nice_error)
    try:
        return asyncio.run(_main(run, satellite, zygote, clock_master, log))
    finally:
        zygote.close()


def _be_nice(increment: int) -> str | None:
    """Lower this satellite's priority (its apps, forked from here, inherit it); return why
    it could not be, if so."""
    if increment:
        try:
            os.nice(increment)
        except OSError as exc:  # a negative increment needs privilege: run at the default
            return str(exc)
    return None


async def _main(run: RunConfig, satellite: str, zygote: Zygote, clock_master: bool,
                log: Any) -> int:
    from flight.executive.app import Executive

    runtime = Runtime(run)
    master: ClockMaster | None = None
    tasks: list[asyncio.Task[Any]] = []
    if clock_master:
        from flight.framework.runtime import initial_clock_state

        master = ClockMaster(runtime.context, runtime.endpoints.clock(),
                             initial_clock_state(run), run.run_dir)
        tasks.append(asyncio.create_task(master.run()))
    runtime.follow_clock()
    proxy = BusProxy(runtime.context, runtime.endpoints.bus_in(satellite),
                     runtime.endpoints.bus_out(satellite))
    proxy.start()
    zygote.attach()
    executive = Executive(runtime, satellite, zygote, proxy)
    signals = StopSignals()
    try:
        await executive.start()
        log.info("satellite up", apps=list(executive.supervisor.children))
        await signals.stopping.wait()
    finally:
        await executive.stop(signals.signal)
        for task in tasks:
            task.cancel()
        if master is not None:
            master.close()
        proxy.stop()
        with contextlib.suppress(Exception):
            runtime.close()
    log.info("satellite down", signal=signals.signal)
    return 0
