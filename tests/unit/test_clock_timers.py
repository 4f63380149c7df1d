"""The simulated clock's timer queue: every timer fires in due order (the one queued first
first, among those due at once), each tick of a periodic timer with its own due time, cancelled
and rescheduled ones included, however many come due in one wake. Checked against a plain
heap of every tick, for random mixes of one-shot and periodic timers."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.clock import ClockState, SimClock

PERIODS = (0.5, 1.0, 1.0, 1.0, 2.0, 3.0)  # 1 s most often, as in a fleet
HORIZON = 20.0


@dataclass
class Spec:
    """One timer of a scenario: when it starts, its period (None: once), and what it does at
    its n-th tick: cancel another timer, or change its own period."""

    name: int
    first: float
    period: float | None
    cancels: tuple[int, int] | None = None  # (at tick, timer)
    reschedules: tuple[int, float] | None = None  # (at tick, new period)
    ticks: int = field(default=0)


def scenario() -> Any:
    spec = st.builds(
        lambda first, period, cancels, reschedules: (first, period, cancels, reschedules),
        st.floats(0.001, 5.0, allow_nan=False),
        st.one_of(st.none(), st.sampled_from(PERIODS)),
        st.one_of(st.none(), st.tuples(st.integers(1, 6), st.integers(0, 29))),
        st.one_of(st.none(), st.tuples(st.integers(1, 6), st.sampled_from(PERIODS))),
    )
    return st.lists(spec, min_size=1, max_size=30)


def reference(specs: list[Spec]) -> list[tuple[int, float]]:
    """What fires, in order: every timer in one heap, re-pushed after each tick."""
    heap: list[tuple[float, int, Spec]] = []
    order = itertools.count()
    cancelled: set[int] = set()
    periods = {spec.name: spec.period for spec in specs}
    for spec in specs:
        heappush(heap, (spec.first, next(order), spec))
    fired = []
    while heap and heap[0][0] <= HORIZON:
        due, _, spec = heappop(heap)
        if spec.name in cancelled:
            continue
        period = periods[spec.name]
        if period is not None:
            heappush(heap, (due + period, next(order), spec))
        fired.append((spec.name, due))
        spec.ticks += 1
        if spec.cancels is not None and spec.cancels[0] == spec.ticks:
            cancelled.add(spec.cancels[1])
        if spec.reschedules is not None and spec.reschedules[0] == spec.ticks and period:
            periods[spec.name] = spec.reschedules[1]
    return fired


def on_the_clock(specs: list[Spec]) -> list[tuple[int, float]]:
    """What fires on a :class:`SimClock` held paused, moved to the horizon at once."""
    state = ClockState(1, 0.0, time.time(), 1.0, paused=True)
    clock = SimClock(state)
    timers: dict[int, Any] = {}
    fired: list[tuple[int, float]] = []

    def callback(spec: Spec) -> Any:
        def tick(due: float) -> None:
            fired.append((spec.name, due))
            spec.ticks += 1
            if spec.cancels is not None and spec.cancels[0] == spec.ticks:
                target = timers.get(spec.cancels[1])
                if target is not None:
                    target.cancel()
            if (spec.reschedules is not None and spec.reschedules[0] == spec.ticks
                    and spec.period is not None):
                clock.reschedule(timers[spec.name], spec.reschedules[1])
        return tick

    for spec in specs:
        if spec.period is None:
            timers[spec.name] = clock.call_at(spec.first, callback(spec))
        else:
            timers[spec.name] = clock.every(spec.period, callback(spec), first=spec.first)
    clock.state = ClockState(2, HORIZON, time.time(), 1.0, paused=True)
    clock._loop = _StandInLoop()  # type: ignore[assignment]  # paused: only its time is asked
    clock._fire()  # everything due by the horizon, in one wake
    return fired


class _StandInLoop:
    """What _fire and _arm ask of a loop when the clock is paused: its time."""

    def time(self) -> float:
        return 0.0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_timers_fire_in_due_order_as_one_heap_would_fire_them(raw: list[Any]) -> None:
    def specs() -> list[Spec]:
        return [Spec(index, first, period,
                     (cancels[0], cancels[1] % len(raw)) if cancels else None, reschedules)
                for index, (first, period, cancels, reschedules) in enumerate(raw)]

    expected = reference(specs())
    assert on_the_clock(specs()) == expected


def test_many_timers_of_one_period_tick_each_at_its_own_time() -> None:
    specs = [Spec(index, 0.001 + index / 100, 1.0) for index in range(100)]
    fired = on_the_clock(specs)
    assert len(fired) == 100 * 20
    assert fired == sorted(fired, key=lambda tick: tick[1])
    assert fired[:2] == [(0, 0.001), (1, 0.011)] and fired[100] == (0, 1.001)
