"""The runtime of one flight process: configuration, ZeroMQ context, simulated clock, logging.

Several apps may share one runtime (one process): each app keeps its own sockets and state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import structlog
import zmq

from common import logs
from common.clock import ClockFollower, ClockState, SimClock, read_state
from common.endpoints import Endpoints
from common.runconfig import RunConfig
from common.zmqloop import Readable


def initial_clock_state(run: RunConfig) -> ClockState:
    """The clock as the run directory knows it now, or else the run's first anchor."""
    state = read_state(run.run_dir)
    if state is not None:
        return state
    anchor = run.clock
    return ClockState(0, anchor.sim, anchor.wall, anchor.rate, anchor.paused)


class Runtime:
    """What the apps of one process share."""

    def __init__(self, run: RunConfig, context: zmq.Context[Any] | None = None) -> None:
        self.run = run
        self.endpoints = Endpoints(run)
        self.context: zmq.Context[Any] = context or zmq.Context()
        self.clock = SimClock(initial_clock_state(run), run.timing.timer_resolution_wall_s)
        self._follower: ClockFollower | None = None
        self._readable: Readable | None = None

    def follow_clock(self) -> None:
        """Subscribe to the clock channel (call inside the event loop)."""
        self._follower = ClockFollower(self.clock, self.context, self.endpoints.clock())
        self._readable = Readable(self._follower.socket, self._follower.drain)

    def close(self) -> None:
        """Close the clock subscription and the ZeroMQ context."""
        if self._readable is not None:
            self._readable.close()
        if self._follower is not None:
            self._follower.close()
        self.context.term()


def host_apps(run_dir: str, satellite: str, names: list[str]) -> int:
    """Process entry point: run the flight apps ``names`` of ``satellite`` until SIGTERM."""
    from flight.registry import app_class

    run = RunConfig.load(run_dir)
    process = f"{satellite}.{'+'.join(names)}"
    log = logs.configure(run.run_dir, process, satellite=satellite)
    try:
        return asyncio.run(_host(run, satellite, [app_class(name) for name in names], log))
    except Exception:
        log.exception("process failed")
        return 1


async def _host(run: RunConfig, satellite: str, classes: list[type[Any]],
                log: structlog.stdlib.BoundLogger) -> int:
    return await serve(run, lambda runtime: [klass(runtime, satellite) for klass in classes], log)


async def serve(run: RunConfig, make_apps: Any, log: structlog.stdlib.BoundLogger) -> int:
    """Run the apps ``make_apps(runtime)`` builds until SIGTERM or SIGINT, then stop them."""
    runtime = Runtime(run)
    runtime.follow_clock()
    apps = make_apps(runtime)
    stopping = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: (received.append(s), stopping.set()))
    try:
        for app in apps:
            await app.start()
        await stopping.wait()
    finally:
        for app in apps:
            with contextlib.suppress(Exception):
                await app.stop(received[0] if received else 0)
        runtime.close()
    log.info("exiting", signal=received[0] if received else 0)
    return 0
