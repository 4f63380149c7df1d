"""What every process of a run holds: its configuration, a ZeroMQ context and the clock.

Flight and ground processes alike build one :class:`Runtime` and follow the run's clock through
it; the apps or services of the process share it.
"""

from __future__ import annotations

from typing import Any

import zmq

from common.clock import Clock, ClockFollower, ClockState, SimClock, read_state
from common.endpoints import Endpoints
from common.localbus import LocalBus
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
    """A process's share of the run."""

    def __init__(self, run: RunConfig, context: zmq.Context[Any] | None = None) -> None:
        self.run = run
        self.endpoints = Endpoints(run)
        self.context: zmq.Context[Any] = context or zmq.Context()
        self.sim_clock = SimClock(initial_clock_state(run), run.timing.timer_resolution_wall_s)
        #: The process's simulated time, as everything it hosts uses it.
        self.clock: Clock = self.sim_clock
        self._follower: ClockFollower | None = None
        self._readable: Readable | None = None
        #: The buses run in this process's event loop, by satellite: the apps of these
        #: satellites here publish and subscribe in memory.
        self.local_buses: dict[str, LocalBus] = {}
        #: Flight apps only: the apps of this satellite its executive held stopped by command
        #: when it started this process, or, hosted in place, the apps it is making now (read
        #: by fault protection when it is made: it must not take their silence for a fault,
        #: though it never saw the command that stopped them).
        self.stopped_apps: frozenset[str] = frozenset()

    def follow_clock(self) -> None:
        """Subscribe to the clock channel (call inside the event loop)."""
        self._follower = ClockFollower(self.sim_clock, self.context, self.endpoints.clock())
        self._readable = Readable(self._follower.socket, self._follower.drain)

    def close(self) -> None:
        """Close the clock subscription and the ZeroMQ context."""
        if self._readable is not None:
            self._readable.close()
        if self._follower is not None:
            self._follower.close()
        self.context.destroy(0)
