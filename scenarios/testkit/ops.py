"""The test vocabulary: send | await | assert × command | telemetry | event, with sequences
and counts, and the faults a test can inject.

Every ``await_*`` waits in simulated time (guarded by wall time) from ``start`` — ``"NOW"``
(the default), a simulated Unix time, or a predicate on history (the wait starts at the first
history item that satisfies it). Every ``assert_*`` looks at the history already received and
does not wait. A failure raises :class:`CheckFailed` with a sentence: what was expected, the
last value seen, and how much simulated time was waited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from common.dictionary import DICTIONARY
from common.dictionary.types import Enum
from ground.client import CheckFailed, Client, CommandHandle
from scenarios.faults import inject
from scenarios.testkit.predicates import Predicate, as_predicate, at_least, equal_to

Start = str | float | Callable[[Any], bool]


@dataclass(frozen=True)
class Sample:
    """One telemetry value as it came down."""

    satellite: str
    param: str
    time: float
    value: Any


@dataclass(frozen=True)
class Event:
    """One event as it came down."""

    satellite: str
    name: str
    time: float
    severity: int
    message: str
    args: dict[str, Any]


def _when(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%H:%M:%S")


class Ops:
    """Verbs on a running fleet, through ground control only (as a real ground would)."""

    def __init__(self, client: Client, run: Any, default_timeout: float = 600.0) -> None:
        self.client = client
        self.run = run
        self.default_timeout = default_timeout
        self.samples: list[Sample] = []
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> Ops:
        """Begin recording history."""
        self._listener = asyncio.ensure_future(self._listen())
        await asyncio.sleep(0)
        return self

    async def close(self) -> None:
        """Stop recording history."""
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except (asyncio.CancelledError, Exception):
                pass

    def reset_history(self) -> None:
        """Forget what was received so far."""
        self.samples.clear()
        self.events.clear()

    async def _listen(self) -> None:
        async for topic, message in self.client.subscribe(""):
            kind = topic.split("/")[0]
            if kind == "tm":
                for name, value in message["values"].items():
                    self.samples.append(Sample(message["satellite"], name, message["time"],
                                               value))
            elif kind == "event":
                self.events.append(Event(message["satellite"], message["name"],
                                         message["time"], int(message.get("severity") or 1),
                                         message.get("message") or "", message["args"]))
            else:
                continue
            self._changed.set()

    def now(self) -> float:
        """Simulated time now."""
        return self.client.now()

    # --- where to start -------------------------------------------------------------------------

    def _start(self, start: Start) -> float:
        if start == "NOW":
            return self.now()
        if isinstance(start, int | float):
            return float(start)
        if callable(start):
            items: list[Sample | Event] = [*self.samples, *self.events]
            for item in items:
                if start(item):
                    return item.time
            return float("inf")
        raise ValueError(f"start must be 'NOW', a simulated time or a predicate, not {start!r}")

    async def _wait(self, found: Callable[[], Any], what: str, timeout: float | None,
                    last: Callable[[], str]) -> Any:
        timeout = self.default_timeout if timeout is None else timeout
        started = self.now()

        async def search() -> Any:
            while True:
                result = found()
                if result is not None:
                    return result
                self._changed.clear()
                await self._changed.wait()

        try:
            return await self.client.wait_sim(search(), timeout, what, last)
        except CheckFailed:
            raise CheckFailed(f"{what}: not seen within {timeout:g} s (simulated; waited "
                              f"{self.now() - started:.0f} s from {_when(started)}); "
                              f"{last()}") from None

    # --- commands -------------------------------------------------------------------------------

    async def send_command(self, satellite: str, command: str, **args: Any) -> CommandHandle:
        """Queue a command through ground control; returns its handle at once."""
        return await self.client.cmd(satellite, command, **args)

    async def send_and_assert_command(self, satellite: str, command: str, *,
                                      events: Iterable[str | tuple[str, Predicate]] = (),
                                      max_delay: float | None = None,
                                      **args: Any) -> CommandHandle:
        """Send a command and check it was accepted, started and completed within
        ``max_delay`` (simulated), and that each expected event followed."""
        delay = self.default_timeout if max_delay is None else max_delay
        sent = self.now()
        handle = await self.send_command(satellite, command, **args)
        await handle.await_complete(delay)
        reached = [stage for stage, _ in handle.stages]
        for stage in ("ACCEPTED", "STARTED", "COMPLETED"):
            if stage not in reached:
                raise CheckFailed(f"{satellite} {command}: never {stage} within {delay:g} s "
                                  f"(simulated); stages {' → '.join(reached)}; ended "
                                  f"{handle.state}" + (f": {handle.error}" if handle.error
                                                       else ""))
        for expected in events:
            name, predicate = expected if isinstance(expected, tuple) else (expected, None)
            await self.await_event(satellite, name, predicate, start=sent, timeout=delay)
        return handle

    async def send_and_assert_failure(self, satellite: str, command: str, code: str, *,
                                      max_delay: float | None = None, **args: Any
                                      ) -> CommandHandle:
        """Send a command that must fail with PUS failure ``code``."""
        delay = self.default_timeout if max_delay is None else max_delay
        handle = await self.send_command(satellite, command, **args)
        await handle.await_complete(delay)
        if handle.state != "FAILED" or code not in (handle.error or ""):
            raise CheckFailed(f"{satellite} {command}: expected to fail with {code}, ended "
                              f"{handle.state} ({handle.error})")
        return handle

    # --- telemetry ------------------------------------------------------------------------------

    def _samples(self, satellite: str, param: str, since: float) -> list[Sample]:
        return [s for s in self.samples
                if s.satellite == satellite and s.param == param and s.time >= since]

    def _last_sample(self, satellite: str, param: str) -> str:
        seen = [s for s in self.samples if s.satellite == satellite and s.param == param]
        if not seen:
            return "never received"
        return f"last value {seen[-1].value!r} at {_when(seen[-1].time)}"

    async def await_telemetry(self, satellite: str, param: str, predicate: Any = None, *,
                              start: Start = "NOW", timeout: float | None = None) -> Sample:
        """Wait for a value of ``param`` that satisfies ``predicate``."""
        test = as_predicate(predicate)
        since = self._start(start)
        return await self._wait(
            lambda: next((s for s in self._samples(satellite, param, since) if test(s.value)),
                         None),
            f"{satellite} {param} {test}", timeout, lambda: self._last_sample(satellite, param))

    def assert_telemetry(self, satellite: str, param: str, predicate: Any = None, *,
                         start: Start = 0.0) -> Sample:
        """A value of ``param`` satisfying ``predicate`` is already in history."""
        test = as_predicate(predicate)
        for sample in self._samples(satellite, param, self._start(start)):
            if test(sample.value):
                return sample
        raise CheckFailed(f"{satellite} {param} {test}: not in history; "
                          f"{self._last_sample(satellite, param)}")

    async def await_telemetry_sequence(self, satellite: str, param: str,
                                       predicates: list[Any], *, start: Start = "NOW",
                                       timeout: float | None = None) -> list[Sample]:
        """Values satisfying each predicate in turn, in that order."""
        tests = [as_predicate(p) for p in predicates]
        since = self._start(start)

        def found() -> list[Sample] | None:
            matched: list[Sample] = []
            for sample in self._samples(satellite, param, since):
                if len(matched) < len(tests) and tests[len(matched)](sample.value):
                    matched.append(sample)
            return matched if len(matched) == len(tests) else None

        words = " then ".join(str(t) for t in tests)
        return await self._wait(found, f"{satellite} {param} {words}", timeout,
                                lambda: self._last_sample(satellite, param))

    async def await_telemetry_count(self, satellite: str, param: str, count: Any,
                                    predicate: Any = None, *, start: Start = "NOW",
                                    timeout: float | None = None) -> list[Sample]:
        """A number of values (``count``: an int means at least that many) satisfying
        ``predicate``."""
        test = as_predicate(predicate)
        enough = at_least(count) if isinstance(count, int) else as_predicate(count)
        since = self._start(start)

        def found() -> list[Sample] | None:
            matched = [s for s in self._samples(satellite, param, since) if test(s.value)]
            return matched if enough(len(matched)) else None

        return await self._wait(found, f"{satellite} {param} {test}, count {enough}", timeout,
                                lambda: self._last_sample(satellite, param))

    # --- events ---------------------------------------------------------------------------------

    def _events(self, satellite: str, name: str, since: float) -> list[Event]:
        return [e for e in self.events
                if e.satellite == satellite and e.name == name and e.time >= since]

    def _last_event(self, satellite: str) -> str:
        seen = [e for e in self.events if e.satellite == satellite]
        if not seen:
            return "no event received"
        return f"last event {seen[-1].name} ({seen[-1].message}) at {_when(seen[-1].time)}"

    async def await_event(self, satellite: str, name: str, args: Any = None, *,
                          start: Start = "NOW", timeout: float | None = None) -> Event:
        """Wait for event ``name`` (whose arguments satisfy ``args``)."""
        test = as_predicate(args)
        since = self._start(start)
        return await self._wait(
            lambda: next((e for e in self._events(satellite, name, since) if test(e.args)),
                         None),
            f"{satellite} event {name} {test}", timeout, lambda: self._last_event(satellite))

    def assert_event(self, satellite: str, name: str, args: Any = None, *,
                     start: Start = 0.0) -> Event:
        """Event ``name`` is already in history."""
        test = as_predicate(args)
        for event in self._events(satellite, name, self._start(start)):
            if test(event.args):
                return event
        raise CheckFailed(f"{satellite} event {name} {test}: not in history; "
                          f"{self._last_event(satellite)}")

    async def await_event_sequence(self, satellite: str, names: list[str], *,
                                   start: Start = "NOW", timeout: float | None = None
                                   ) -> list[Event]:
        """Events in that order (others may come between)."""
        since = self._start(start)

        def found() -> list[Event] | None:
            matched: list[Event] = []
            for event in self.events:
                if event.satellite == satellite and event.time >= since and \
                        len(matched) < len(names) and event.name == names[len(matched)]:
                    matched.append(event)
            return matched if len(matched) == len(names) else None

        return await self._wait(found, f"{satellite} events {' then '.join(names)}", timeout,
                                lambda: self._last_event(satellite))

    async def await_event_count(self, satellite: str, name: str, count: Any, *,
                                start: Start = "NOW", timeout: float | None = None
                                ) -> list[Event]:
        """A number of events ``name`` (an int means at least that many)."""
        enough = at_least(count) if isinstance(count, int) else as_predicate(count)
        since = self._start(start)

        def found() -> list[Event] | None:
            matched = self._events(satellite, name, since)
            return matched if enough(len(matched)) else None

        return await self._wait(found, f"{satellite} event {name}, count {enough}", timeout,
                                lambda: self._last_event(satellite))

    async def wait_for_dataflow(self, satellites: Iterable[str] | None = None,
                                timeout: float | None = None) -> None:
        """Wait until telemetry comes down from every satellite (or those named)."""
        wanted = list(satellites or self.run.satellites)
        since = self.now()

        def found() -> bool | None:
            seen = {s.satellite for s in self.samples if s.time >= since - 60}
            return True if all(w in seen for w in wanted) else None

        await self._wait(found, f"telemetry from {', '.join(wanted)}", timeout,
                         lambda: "flowing from " + (", ".join(sorted(
                             {s.satellite for s in self.samples})) or "none"))

    # --- faults ---------------------------------------------------------------------------------

    async def _pid(self, satellite: str, app: str) -> int:
        await self.send_and_assert_command(satellite, "EXEC.REPORT_HK", structure="STATUS")
        pid = await self.client.tlm(satellite, f"EXEC.{app}_PID")
        if not pid:
            raise CheckFailed(f"{satellite} {app} has no process to act on")
        return int(pid)

    async def kill_app(self, satellite: str, app: str) -> int:
        """SIGKILL an app's process (its pid as its executive last reported it)."""
        pid = await self._pid(satellite, app)
        os.kill(pid, signal.SIGKILL)
        return pid

    async def stop_app(self, satellite: str, app: str) -> int:
        """SIGSTOP an app's process: alive, but silent."""
        pid = await self._pid(satellite, app)
        os.kill(pid, signal.SIGSTOP)
        return pid

    @staticmethod
    def resume_app(pid: int) -> None:
        """SIGCONT a stopped app."""
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    async def cut_station(self, station: str, duration: float) -> None:
        """Take a ground station out of service for ``duration`` simulated seconds."""
        now = self.now()
        await self.client.outage(station, now, now + duration)

    async def cut_link(self, satellite: str, duration: float, direction: str = "both") -> None:
        """Cut a satellite's link for ``duration`` simulated seconds."""
        now = self.now()
        await self.client.impair(satellite, now, now + duration, loss=1.0, direction=direction)

    async def corrupt_link(self, satellite: str, probability: float, duration: float,
                           direction: str = "both") -> None:
        """Flip a bit in that share of a satellite's packets for a while."""
        now = self.now()
        await self.client.impair(satellite, now, now + duration, corruption=probability,
                                 direction=direction)

    async def hardware_fault(self, satellite: str, fault: str, **args: Any) -> None:
        """A fault in the simulated hardware: ``upset`` (node=), ``battery_cells``
        (strings=), ``radiator`` (factor=)."""
        command = {"upset": "SIM.INJECT_UPSET", "battery_cells": "SIM.FAIL_BATTERY_CELLS",
                   "radiator": "SIM.DEGRADE_RADIATOR"}.get(fault)
        if command is None:
            raise ValueError(f"unknown hardware fault {fault!r}: upset, battery_cells, radiator")
        await inject(self.run, satellite, command, **args)

    async def set_rate(self, rate: float) -> None:
        """Change the run's clock rate."""
        await self.client.set_rate(rate)

    @staticmethod
    def failure_codes() -> list[str]:
        """Every PUS 1 failure code name (for expectations)."""
        codes = DICTIONARY.standard_report(1, 2).fields[2].type
        assert isinstance(codes, Enum)
        return list(codes.labels)


__all__ = ["CheckFailed", "Event", "Ops", "Sample", "equal_to"]
