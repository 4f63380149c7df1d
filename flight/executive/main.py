"""The process of a satellite's executive — or of several: preload, fork the zygote, run.

Order matters: every module the apps need is imported first, then the zygote is forked (before
any ZeroMQ context exists), and only then does the process create its context, the bus proxy,
the executive and its radio, and start the supervised apps from the zygote. With
``app_hosting = "executive"`` the apps run here too, and no zygote is forked: the bus is then
run in this process's event loop (:class:`common.localbus.LocalBus`) instead of a proxy thread,
and hands the apps their messages in memory.

A process may run the executives of several satellites (``run.flight_group``, for very large
fleets): they share the process, its ZeroMQ context and its clock, and nothing else — each has
its own bus, radio, supervisor and apps. The process reports ready under its own name
once every one of them is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from common import collector, control, logs
from common.bus import BusProxy
from common.clock import ClockMaster
from common.localbus import LocalBus
from common.runconfig import RunConfig
from common.zygote import Zygote
from flight.framework.decoded import DECODED
from flight.framework.runtime import Runtime, StopSignals, keep_run, kept_run
from flight.framework.warmup import warm_up
from flight.registry import preload


def run_satellite(run_dir: str, satellite: str, *, clock_master: bool = False,
                  console: bool = False) -> int:
    """Run ``satellite`` of the run in ``run_dir`` until SIGTERM or SIGINT; return the status."""
    return run_satellites(run_dir, [satellite], clock_master=clock_master, console=console)


def run_satellites(run_dir: str, satellites: list[str], name: str | None = None, *,
                   clock_master: bool = False, console: bool = False) -> int:
    """Run the executives of ``satellites`` in this process until SIGTERM or SIGINT; return
    the status. ``name`` (the process's, in its log file and readiness report) defaults to the
    one satellite's name; a group of them reports ready once every one of them is."""
    run = kept_run(run_dir)
    unknown = [satellite for satellite in satellites if satellite not in run.satellites]
    if unknown or not satellites:
        raise SystemExit(f"{', '.join(unknown) or 'no satellite'}: not in the run "
                         f"({', '.join(run.satellites)})")
    process = name or satellites[0]
    nice_error = _be_nice(run.timing.satellite_nice)
    preload()
    keep_run(run)
    warm_up()  # once: an executive forked from a fleet's launcher inherits a warm image
    zygote = None if run.app_hosting == "executive" else Zygote.fork()
    log = logs.configure(run.run_dir, f"{process}.EXEC" if name is None else process,
                         console=console, **({"satellite": process} if name is None else {}))
    if nice_error is not None:
        log.warning("niceness not changed", increment=run.timing.satellite_nice, error=nice_error)
    try:
        return asyncio.run(_main(run, satellites, process, zygote, clock_master,
                                 report=name is not None, log=log))
    finally:
        if zygote is not None:
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


async def _main(run: RunConfig, satellites: list[str], process: str, zygote: Zygote | None,
                clock_master: bool, *, report: bool, log: Any) -> int:
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
    in_place = run.app_hosting == "executive"
    if in_place:
        DECODED.sharing = True  # the apps of a satellite here receive the same packets
    if zygote is not None:
        zygote.attach()
    proxies: list[BusProxy | LocalBus] = []
    executives: list[Any] = []
    signals = StopSignals()
    try:
        for satellite in satellites:
            endpoints = runtime.endpoints
            proxy: BusProxy | LocalBus
            if in_place:  # the apps are here: the bus is run in this loop, in memory
                proxy = runtime.local_buses[satellite] = LocalBus(
                    runtime.context, endpoints.bus_in(satellite), endpoints.bus_out(satellite),
                    pacer=runtime.sim_clock)
            else:
                proxy = BusProxy(runtime.context, endpoints.bus_in(satellite),
                                 endpoints.bus_out(satellite))
            proxy.start()
            proxies.append(proxy)
            executives.append(Executive(runtime, satellite, zygote, proxy))
        for executive in executives:
            await executive.start()
            log.info("satellite up", satellite=executive.satellite,
                     apps=list(executive.supervisor.children))
        if await signals.unless_stopped(_everyone_up(executives)):
            collector.settle()
            if report:
                control.report(runtime.context, runtime.endpoints, process,
                               satellites=[executive.satellite for executive in executives])
        await signals.stopping.wait()
    finally:
        # Together: each may take its apps' grace period, and the launcher waits for one.
        await asyncio.gather(*(executive.stop(signals.signal) for executive in executives),
                             return_exceptions=True)
        for task in tasks:
            task.cancel()
        if master is not None:
            master.close()
        for proxy in proxies:
            proxy.stop()
        with contextlib.suppress(Exception):
            runtime.close()
    log.info("satellites down" if len(satellites) > 1 else "satellite down",
             signal=signals.signal, packets_decoded=DECODED.decoded, decodes_shared=DECODED.hits)
    return 0


async def _everyone_up(executives: list[Any]) -> None:
    """Until every satellite here runs all its apps."""
    for executive in executives:
        await executive.all_up.wait()
