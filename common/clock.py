"""Simulated time, one function of the wall clock for every process of a run.

``sim = sim_anchor + (wall − wall_anchor) × rate`` (frozen at ``sim_anchor`` while paused).
The clock master (the scenario runner, a test, or a standalone satellite) publishes every
change — pause, resume, new rate — as a new :class:`ClockState` with a higher ``epoch`` on the
clock channel, re-publishes the current state every half second for late joiners, and keeps it
in ``clock.state`` in the run directory so that a process starting mid-run reads it at once.

Timers coalesce: a process wakes at most every ``resolution`` wall seconds and then runs every
timer whose simulated due time has come (several periods of a periodic timer if need be); it
sleeps while nothing is due and re-plans its wake-up whenever the clock changes. Busy sockets
keep the same pace (:meth:`SimClock.pace`, used by :class:`common.zmqloop.Readable`): input
that arrives within ``resolution`` of the last wake waits for the next one, so a process under a
steady flow of packets wakes about once per ``resolution`` in all, not once per arriving batch.
Those wakes fall on one grid per process (the multiples of ``resolution`` on the loop's clock),
so the timers and the paced sockets share each wake rather than each keeping its own phase.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush, heapreplace
from pathlib import Path
from typing import Any, Protocol

import msgpack
import structlog
import zmq

from common.files import write_atomic
from common.zmqloop import NOBLOCK

_log = structlog.get_logger("clock")

STATE_FILE = "clock.state"
REPUBLISH_WALL_S = 0.5


@dataclass(frozen=True)
class ClockState:
    """One definition of simulated time, valid from its ``epoch`` until the next."""

    epoch: int
    sim_anchor: float
    wall_anchor: float
    rate: float
    paused: bool = False

    def sim_at(self, wall: float) -> float:
        """Simulated time at a wall time."""
        if self.paused:
            return self.sim_anchor
        return self.sim_anchor + (wall - self.wall_anchor) * self.rate

    def wall_at(self, sim: float) -> float:
        """Wall time at which simulated time reaches ``sim`` (``inf`` while paused)."""
        if self.paused:
            return math.inf
        return self.wall_anchor + (sim - self.sim_anchor) / self.rate

    def changed(self, *, rate: float | None = None, paused: bool | None = None,
                wall: float | None = None) -> ClockState:
        """The next state: same simulated time at ``wall`` (default now), new rate or pause."""
        wall = time.time() if wall is None else wall
        new_rate = self.rate if rate is None else rate
        if new_rate <= 0 or not math.isfinite(new_rate):
            raise ValueError(f"clock rate must be positive and finite, not {new_rate}")
        return ClockState(
            self.epoch + 1, self.sim_at(wall), wall, new_rate,
            self.paused if paused is None else paused,
        )

    def pack(self) -> bytes:
        """The msgpack message of the clock channel."""
        return msgpack.packb(
            {"epoch": self.epoch, "sim_anchor": self.sim_anchor,
             "wall_anchor": self.wall_anchor, "rate": self.rate, "paused": self.paused}
        )

    @classmethod
    def unpack(cls, data: bytes) -> ClockState:
        """From a clock-channel message; raises ValueError when malformed."""
        try:
            msg = msgpack.unpackb(data)
            state = cls(int(msg["epoch"]), float(msg["sim_anchor"]), float(msg["wall_anchor"]),
                        float(msg["rate"]), bool(msg["paused"]))
        except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
            raise ValueError(f"malformed clock message: {exc}") from None
        if state.rate <= 0 or not math.isfinite(state.rate):
            raise ValueError(f"clock message with rate {state.rate}")
        return state


def write_state(run_dir: str | Path, state: ClockState) -> None:
    """Keep the current state in the run directory (atomically)."""
    write_atomic(Path(run_dir) / STATE_FILE, state.pack())


def read_state(run_dir: str | Path) -> ClockState | None:
    """The state kept in the run directory, if any."""
    try:
        return ClockState.unpack((Path(run_dir) / STATE_FILE).read_bytes())
    except (FileNotFoundError, ValueError):
        return None


class Timer:
    """A scheduled callback; ``cancel()`` stops it (and a periodic timer's future ticks)."""

    __slots__ = ("callback", "cancelled", "due", "period")

    def __init__(self, due: float, callback: Callable[[float], Any], period: float | None) -> None:
        self.due = due
        self.callback = callback
        self.period = period
        self.cancelled = False

    def cancel(self) -> None:
        """Do not call back any more."""
        self.cancelled = True


class Cancellable(Protocol):
    """A scheduled callback that can be called off (a :class:`Timer`)."""

    def cancel(self) -> None:
        """Do not call back any more."""


class Clock(Protocol):
    """What apps and services use of simulated time: a :class:`SimClock`, or a stand-in that a
    test moves by hand. Code that is given a clock names this type, so that either will do."""

    @property
    def rate(self) -> float:
        """Simulated seconds per wall second (0 while paused)."""

    def now(self) -> float:
        """Simulated time now (Unix seconds, UTC)."""

    def on_change(self, listener: Callable[[ClockState], None]) -> None:
        """Call ``listener(state)`` after every adopted change."""

    def off_change(self, listener: Callable[[ClockState], None]) -> None:
        """Stop calling ``listener``."""

    def call_at(self, sim_due: float, callback: Callable[[float], Any]) -> Cancellable:
        """Call ``callback(due)`` once simulated time reaches ``sim_due``."""

    def call_later(self, sim_delay: float, callback: Callable[[float], Any]) -> Cancellable:
        """Call ``callback(due)`` after ``sim_delay`` simulated seconds."""

    def every(self, period: float, callback: Callable[[float], Any],
              first: float | None = None) -> Cancellable:
        """Call ``callback(due)`` every ``period`` simulated seconds."""

    def pace(self) -> float:
        """Loop time before which coalesced work waits."""

    def woke(self, loop_time: float) -> None:
        """Coalesced work ran at ``loop_time``."""

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of simulated time."""


class SimClock:
    """This process's view of simulated time, and its coalescing timer queue.

    >>> clock = SimClock(ClockState(0, sim_anchor=100.0, wall_anchor=time.time(), rate=1.0))
    >>> 100.0 <= clock.now() < 101.0
    True
    """

    #: A timer fires when simulated time is within this many wall seconds of its due time.
    TOLERANCE_WALL_S = 1e-4
    #: A periodic timer that fell further behind than this many periods skips ahead.
    MAX_CATCH_UP = 10_000

    def __init__(self, state: ClockState, resolution_wall_s: float = 0.005) -> None:
        self.state = state
        self.resolution = resolution_wall_s
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_wake = -math.inf
        self.wakes = 0
        self.ticks_skipped = 0
        self.rejected_messages = 0
        self.callback_errors = 0
        self._listeners: list[Callable[[ClockState], None]] = []

    # --- time ------------------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated time now (Unix seconds, UTC)."""
        state = self.state
        if state.paused:
            return state.sim_anchor
        return state.sim_anchor + (time.time() - state.wall_anchor) * state.rate

    @property
    def rate(self) -> float:
        """Simulated seconds per wall second (0 while paused)."""
        return 0.0 if self.state.paused else self.state.rate

    def apply(self, state: ClockState) -> bool:
        """Adopt ``state`` if it is newer than ours; re-plan timers. True when adopted."""
        if state.epoch <= self.state.epoch:
            return False
        self.state = state
        self._arm()
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # one listener's fault must not keep the change from the others
                self.callback_errors += 1
                _log.exception("clock listener failed", epoch=state.epoch)
        return True

    def on_change(self, listener: Callable[[ClockState], None]) -> None:
        """Call ``listener(state)`` after every adopted change."""
        self._listeners.append(listener)

    def off_change(self, listener: Callable[[ClockState], None]) -> None:
        """Stop calling ``listener`` (an app stopped in a process that goes on)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # --- timers ----------------------------------------------------------------------------------

    def call_at(self, sim_due: float, callback: Callable[[float], Any]) -> Timer:
        """Call ``callback(due)`` once simulated time reaches ``sim_due``."""
        return self._push(Timer(sim_due, callback, None))

    def call_later(self, sim_delay: float, callback: Callable[[float], Any]) -> Timer:
        """Call ``callback(due)`` after ``sim_delay`` simulated seconds."""
        return self.call_at(self.now() + sim_delay, callback)

    def every(self, period: float, callback: Callable[[float], Any],
              first: float | None = None) -> Timer:
        """Call ``callback(due)`` every ``period`` simulated seconds, with each tick's own due
        time, catching up on every tick missed while the process slept."""
        if period <= 0:
            raise ValueError(f"period must be positive, not {period}")
        due = self.now() + period if first is None else first
        return self._push(Timer(due, callback, period))

    # --- pacing ----------------------------------------------------------------------------------

    def pace(self) -> float:
        """Loop time before which coalesced work (timers, paced sockets) waits: the first
        point after the last wake of the process's wake grid, the multiples of ``resolution``
        on the loop's clock. On the grid, the timers and every paced socket of a process share
        one wake-up per resolution, rather than each keeping its own phase."""
        if math.isinf(self._last_wake):
            return self._last_wake
        return (math.floor(self._last_wake / self.resolution) + 1) * self.resolution

    def woke(self, loop_time: float) -> None:
        """Coalesced work ran at ``loop_time`` (a paced socket was read)."""
        if loop_time > self._last_wake:
            self._last_wake = loop_time

    def reschedule(self, timer: Timer, period: float) -> None:
        """Change a periodic timer's period from its next tick on."""
        timer.period = period

    async def sleep_until(self, sim_time: float) -> None:
        """Sleep until simulated time reaches ``sim_time`` (pauses and rate changes included)."""
        if self.now() >= sim_time:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake(_due: float) -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(sim_time, wake)
        try:
            await future
        finally:
            timer.cancel()

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep for ``sim_seconds`` of simulated time."""
        await self.sleep_until(self.now() + sim_seconds)

    async def wait_for(self, awaitable: Any, sim_timeout: float) -> Any:
        """``asyncio.wait_for`` with a timeout in simulated seconds."""
        task = asyncio.ensure_future(awaitable)
        sleeper = asyncio.ensure_future(self.sleep(sim_timeout))
        try:
            done, _ = await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            task.cancel()
            raise TimeoutError(f"no result within {sim_timeout} simulated seconds")
        finally:
            sleeper.cancel()

    def _push(self, timer: Timer) -> Timer:
        heappush(self._heap, (timer.due, next(self._order), timer))
        if self._heap[0][2] is timer:
            self._arm()
        return timer

    def _arm(self) -> None:
        try:
            loop = self._loop or asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: armed when the first timer is pushed from inside one
        self._loop = loop
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        while self._heap and self._heap[0][2].cancelled:
            heappop(self._heap)
        if not self._heap or self.state.paused:
            return
        wall_due = self.state.wall_at(self._heap[0][0])
        when = loop.time() + max(0.0, wall_due - time.time())
        # Up to the wake grid (the tolerance keeps a time already on it from rounding a step up).
        when = math.ceil(max(when, self.pace()) / self.resolution - 1e-9) * self.resolution
        self._handle = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        assert self._loop is not None
        self._last_wake = self._loop.time()
        self.wakes += 1
        horizon = self.now() + self.TOLERANCE_WALL_S * self.rate
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            due, _, timer = heap[0]
            if timer.cancelled:
                heappop(heap)
                continue
            if timer.period is not None:
                behind = (horizon - due) / timer.period
                if behind > self.MAX_CATCH_UP:
                    skip = int(behind) - self.MAX_CATCH_UP
                    self.ticks_skipped += skip
                    due += skip * timer.period
                timer.due = due + timer.period
                # The next tick in place of this one: one sift of the heap instead of two.
                heapreplace(heap, (timer.due, next(self._order), timer))
            else:
                heappop(heap)
            try:
                timer.callback(due)
            except Exception:  # a timer's fault must not stop every other timer
                self.callback_errors += 1
                _log.exception("timer callback failed", due=due)
        self._arm()


class ClockFollower:
    """Keeps a :class:`SimClock` in step with the clock channel (a SUB socket)."""

    def __init__(self, clock: SimClock, context: zmq.Context[Any], endpoint: str) -> None:
        self.clock = clock
        self.socket = context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(endpoint)
        self.received = 0

    def drain(self) -> None:
        """Adopt every clock message waiting (called when the socket is readable)."""
        while True:
            try:
                data = self.socket.recv(NOBLOCK)
            except zmq.Again:
                return
            self.received += 1
            try:
                self.clock.apply(ClockState.unpack(data))
            except ValueError:
                self.clock.rejected_messages += 1

    def close(self) -> None:
        """Close the socket."""
        self.socket.close(0)


class ClockMaster:
    """The one process of a run that changes the clock, and tells everyone."""

    def __init__(self, context: zmq.Context[Any], endpoint: str, state: ClockState,
                 run_dir: str | Path | None = None) -> None:
        self.state = state
        self.run_dir = run_dir
        self.socket = context.socket(zmq.PUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint)
        self._last_publish = 0.0
        self.publish()

    def publish(self) -> None:
        """Send the current state (and keep it in the run directory)."""
        self.socket.send(self.state.pack())
        self._last_publish = time.monotonic()
        if self.run_dir is not None:
            write_state(self.run_dir, self.state)

    def republish_if_due(self) -> None:
        """Re-send the state if half a second passed, for late joiners."""
        if time.monotonic() - self._last_publish >= REPUBLISH_WALL_S:
            self.publish()

    def set(self, state: ClockState) -> ClockState:
        """Adopt and announce a new state."""
        self.state = state
        self.publish()
        return state

    def pause(self) -> ClockState:
        """Freeze simulated time."""
        return self.set(self.state.changed(paused=True))

    def resume(self) -> ClockState:
        """Let simulated time run again from where it stopped."""
        return self.set(self.state.changed(paused=False))

    def set_rate(self, rate: float) -> ClockState:
        """Run at ``rate`` simulated seconds per wall second from now on."""
        return self.set(self.state.changed(rate=rate))

    async def run(self) -> None:
        """Re-publish periodically until cancelled."""
        while True:
            await asyncio.sleep(REPUBLISH_WALL_S)
            self.republish_if_due()

    def close(self) -> None:
        """Close the socket."""
        self.socket.close(0)
