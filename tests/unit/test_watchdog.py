"""The heartbeat watches tell a busy app (late beats) from a hung or stopped one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from common.procstat import cpu_ticks
from flight.fault.watch import HeartbeatWatch
from flight.framework.busy import BUSY_FACTOR, CPU_WINDOW_WALL_S, BusyCheck

LIMIT_WALL_S = 10.0


def _process(code: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"up\n"
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def busy() -> Iterator[subprocess.Popen[bytes]]:
    """A process working without pause (as one working off a backlog does)."""
    yield from _process("print('up', flush=True)\nwhile True: pass")


@pytest.fixture
def asleep() -> Iterator[subprocess.Popen[bytes]]:
    """A process using no CPU (as one blocked, deadlocked or stopped does)."""
    yield from _process("import time; print('up', flush=True); time.sleep(60)")


def _used_cpu_since(pid: int, ticks: int) -> None:
    deadline = time.monotonic() + 10.0
    while (cpu_ticks(pid, main_thread=True) or 0) <= ticks:
        assert time.monotonic() < deadline, "the busy process used no CPU in 10 s"
        time.sleep(0.01)


def test_a_busy_silent_app_is_taken_for_late_until_the_longer_bar(busy) -> None:
    check, silent = BusyCheck(), LIMIT_WALL_S + 1
    assert check.working("HK", busy.pid, 100.0, silent, LIMIT_WALL_S)  # first look: wait
    _used_cpu_since(busy.pid, check.looked["HK"][0])
    later = 100.0 + CPU_WINDOW_WALL_S
    assert check.working("HK", busy.pid, later, silent + CPU_WINDOW_WALL_S, LIMIT_WALL_S)
    assert check.busy_silences == 1
    _used_cpu_since(busy.pid, check.looked["HK"][0])
    assert check.working("HK", busy.pid, later + CPU_WINDOW_WALL_S,
                         silent + 2 * CPU_WINDOW_WALL_S, LIMIT_WALL_S)
    assert check.busy_silences == 1  # one silence, counted once
    # A loop that never ends is busy too: past the longer bar it is judged all the same.
    assert not check.working("HK", busy.pid, later + 60, BUSY_FACTOR * LIMIT_WALL_S + 1,
                             LIMIT_WALL_S)
    # A beat ends the silence; the next one is counted afresh.
    check.heard("HK")
    assert check.looked == {} and check.found == set()


def test_a_silent_app_using_no_cpu_is_hung(asleep) -> None:
    check = BusyCheck()
    assert check.working("FP", asleep.pid, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)
    # Within the window it is not judged yet, however idle.
    assert check.working("FP", asleep.pid, 100.0 + CPU_WINDOW_WALL_S / 2, LIMIT_WALL_S + 2,
                         LIMIT_WALL_S)
    assert not check.working("FP", asleep.pid, 100.0 + CPU_WINDOW_WALL_S, LIMIT_WALL_S + 4,
                             LIMIT_WALL_S)
    assert check.busy_silences == 0


def test_a_blocked_loop_is_hung_however_busy_its_other_threads() -> None:
    # As ZeroMQ's I/O threads keep taking in messages for an app whose loop is blocked.
    code = ("import threading, time\n"
            "def spin():\n    while True: pass\n"
            "threading.Thread(target=spin, daemon=True).start()\n"
            "print('up', flush=True)\ntime.sleep(60)")
    for process in _process(code):
        whole = cpu_ticks(process.pid) or 0
        check = BusyCheck()
        assert check.working("HK", process.pid, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)
        deadline = time.monotonic() + 10.0
        while (cpu_ticks(process.pid) or 0) <= whole:  # the other thread does use CPU
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not check.working("HK", process.pid, 100.0 + CPU_WINDOW_WALL_S,
                                 LIMIT_WALL_S + 4, LIMIT_WALL_S)


def test_a_silent_app_whose_process_is_gone_or_unknown_is_not_waited_for(asleep) -> None:
    asleep.kill()
    asleep.wait()
    check = BusyCheck()
    assert not check.working("COMPUTE", asleep.pid, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)
    assert not check.working("COMPUTE", 0, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)


def test_fault_protection_does_not_judge_a_silent_app_whose_process_is_busy(busy) -> None:
    watch = HeartbeatWatch(["HK"], now_sim=0.0, now_wall=0.0)
    watch.beat("HK", 1.0, 0.1, pid=busy.pid)

    def overdue(now_wall: float) -> list[str]:
        return [s.app for s in watch.overdue(now_wall * 60, now_wall, timeout_s=30.0,
                                             floor_wall_s=5.0, grace_wall_s=10.0)]

    assert overdue(6.0) == []  # past both bars, but its process is busy: look again
    _used_cpu_since(busy.pid, watch.busy.looked["HK"][0])
    assert overdue(6.0 + CPU_WINDOW_WALL_S) == []
    assert watch.busy.busy_silences == 1
    assert overdue(BUSY_FACTOR * 5.0 + 1) == ["HK"]  # the longer bar
