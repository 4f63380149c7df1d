"""The simulated clock across the clock channel: rate, pause, resume, coalesced timers."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
import zmq

from common.clock import ClockMaster, ClockState, SimClock, read_state
from common.endpoints import Endpoints
from common.runconfig import new_run
from flight.framework.runtime import Runtime, initial_clock_state
from tests.waiting import until


@pytest.fixture
def channel(tmp_path):
    """A clock master and a process-like follower (its own context) on a real ipc socket."""
    run = new_run(tmp_path / "run", ("SAT-01",), rate=100.0)
    run.save()
    context = zmq.Context()
    master = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run), run.run_dir)
    runtime = Runtime(run)
    try:
        yield master, runtime
    finally:
        runtime.close()
        master.close()
        context.destroy(0)


async def test_sixty_simulated_seconds_at_rate_100_take_about_0_6_wall_seconds(channel) -> None:
    _, runtime = channel
    runtime.follow_clock()
    clock = runtime.clock
    wall = time.monotonic()
    sim = clock.now()
    await clock.sleep(60.0)
    elapsed = time.monotonic() - wall
    assert clock.now() - sim >= 60.0
    assert 0.55 <= elapsed <= 1.2, f"60 s at rate 100 took {elapsed:.3f} s of wall time"


async def test_pause_holds_a_sleeper_and_resume_releases_it(channel) -> None:
    master, runtime = channel
    runtime.follow_clock()
    clock = runtime.clock
    sleeper = asyncio.ensure_future(clock.sleep(60.0))
    await asyncio.sleep(0.2)  # wall: 20 of the 60 simulated seconds go by
    master.pause()
    await until(lambda: clock.state.paused)
    frozen = clock.now()
    await asyncio.sleep(0.8)  # longer than the whole sleep would take at rate 100
    assert not sleeper.done(), "a paused clock must hold the sleeper"
    assert clock.now() == frozen
    master.resume()
    await until(lambda: not clock.state.paused)
    wall = time.monotonic()
    await asyncio.wait_for(sleeper, 5.0)
    remaining = time.monotonic() - wall
    assert 0.25 <= remaining <= 0.8, f"about 0.4 s should have remained, took {remaining:.3f}"


async def test_rate_change_reschedules_a_pending_sleep(channel) -> None:
    master, runtime = channel
    runtime.follow_clock()
    clock = runtime.clock
    wall = time.monotonic()
    sleeper = asyncio.ensure_future(clock.sleep(600.0))  # 6 s at rate 100
    await asyncio.sleep(0.1)
    master.set_rate(2000.0)  # the remaining ~590 s now take ~0.3 s
    await asyncio.wait_for(sleeper, 3.0)
    assert time.monotonic() - wall < 1.5


async def test_a_late_joiner_reads_the_current_state_from_the_run_directory(channel) -> None:
    master, runtime = channel
    master.set_rate(500.0)
    master.pause()
    state = read_state(runtime.run.run_dir)
    assert state == master.state
    assert initial_clock_state(runtime.run) == master.state


async def test_periodic_timer_catches_up_every_tick_with_its_own_time() -> None:
    clock = SimClock(ClockState(0, 1000.0, time.time(), 1000.0), resolution_wall_s=0.05)
    ticks: list[float] = []
    first = clock.now() + 1.0
    clock.every(1.0, ticks.append, first=first)
    await asyncio.sleep(0.3)  # ~300 simulated seconds, but at most one wake per 50 ms
    assert len(ticks) >= 250
    assert ticks[:3] == [first, first + 1.0, first + 2.0]
    assert clock.wakes <= 10, f"{clock.wakes} wake-ups: timers must coalesce"


async def test_old_or_malformed_clock_messages_are_ignored_and_counted(channel) -> None:
    master, runtime = channel
    runtime.follow_clock()
    clock = runtime.clock
    republisher = asyncio.ensure_future(master.run())  # what reaches a late subscriber
    master.set_rate(50.0)
    await until(lambda: clock.state.rate == 50.0)
    republisher.cancel()
    master.socket.send(b"\xc1 not msgpack")
    stale = ClockState(0, 0.0, 0.0, 1.0)
    master.socket.send(stale.pack())
    master.set_rate(60.0)
    await until(lambda: clock.state.rate == 60.0)
    assert clock.rejected_messages == 1
    assert clock.state.epoch == master.state.epoch


def test_a_satellite_keeps_housekeeping_on_simulated_time_across_rate_changes_and_a_pause(
    tmp_path,
) -> None:
    """A real satellite process: its periodic reports are one HK interval apart in simulated
    time at rate 10, after a change to rate 200 and across a pause, and none come while paused.
    """
    from tests.process.conftest import start_satellite, stop_tree
    from tests.process.groundside import GroundSide

    run, process = start_satellite(tmp_path / "run", rate=10.0)
    context = zmq.Context()
    master = ClockMaster(context, Endpoints(run).clock(), initial_clock_state(run), run.run_dir)
    ground = GroundSide(run, "SAT-01")

    def reports(since: int) -> list[float]:
        return [r.packet.time.to_unix() for r in ground.received[since:]
                if r.kind == (3, 25) and r.tm is not None and r.tm.name == "EXEC.STATUS"]

    def wait_reports(count: int, since: int, wall_s: float) -> list[float]:
        deadline = time.monotonic() + wall_s
        while len(found := reports(since)) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} reports in {wall_s} s"
            ground.poll(0.02)
        return found

    try:
        ground.ping_until_alive()
        ground.command("EXEC.SET_HK_INTERVAL", structure="STATUS", interval=2.0)
        first = len(ground.received)  # every EXEC.STATUS from here on is on the new interval

        at_10 = wait_reports(4, first, 10.0)
        master.set_rate(200.0)
        changed_at = master.state.sim_anchor
        # 30 reports are 60 simulated seconds (0.3 s of wall time at rate 200). How fast they
        # come is the bench's business; that they follow the new rate is checked below, in
        # simulated time.
        mark = len(ground.received)
        wait_reports(30, mark, 30.0)

        master.pause()
        paused_at = master.state.sim_anchor
        # The satellite has paused when its own answers carry the paused time.
        deadline = time.monotonic() + 5.0
        while True:
            assert time.monotonic() < deadline, "the satellite never paused"
            since = len(ground.received)
            ping = ground.send("EXEC.PING")
            answer = ground.wait_for(lambda r, p=ping: r.kind == (17, 2)
                                     and r.packet.apid == p.apid, since=since)
            if abs(answer.packet.time.to_unix() - paused_at) < 1e-3:
                break
        hold = len(ground.received)
        ground.poll(0.5)  # 100 simulated seconds at rate 200, were the clock running
        assert reports(hold) == [], "housekeeping reported while the clock was paused"

        master.resume()
        wait_reports(3, hold, 5.0)
        every = reports(first)
        steps = {round(b - a, 3) for a, b in itertools.pairwise(every)}
        assert steps == {2.0}, f"report spacing in simulated time: {sorted(steps)}"
        assert at_10[-1] < changed_at < every[-1]
        assert sum(t > changed_at for t in every) >= 30
        assert any(t > paused_at for t in every), "reports resumed after the pause"
    finally:
        ground.close()
        master.close()
        context.destroy(0)
        stop_tree(process)
