"""The executive's watchdog tells a busy app (late beats) from a hung or stopped one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from common.procstat import cpu_ticks
from flight.executive.supervisor import BUSY_FACTOR, CPU_WINDOW_WALL_S, Child, Supervisor

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


def _supervisor() -> Supervisor:
    supervisor = Supervisor.__new__(Supervisor)  # only the watchdog's judgement is tested
    supervisor.busy_silences = 0
    return supervisor


def _used_cpu_since(pid: int, ticks: int) -> None:
    deadline = time.monotonic() + 10.0
    while (cpu_ticks(pid) or 0) <= ticks:
        assert time.monotonic() < deadline, "the busy process used no CPU in 10 s"
        time.sleep(0.01)


def test_a_busy_silent_app_is_taken_for_late_until_the_longer_bar(busy) -> None:
    supervisor, child = _supervisor(), Child("HK", pid=busy.pid)
    silent = LIMIT_WALL_S + 1
    assert supervisor._working(child, 100.0, silent, LIMIT_WALL_S)  # first look: wait and see
    assert child.silent_cpu is not None
    _used_cpu_since(busy.pid, child.silent_cpu[0])
    later = 100.0 + CPU_WINDOW_WALL_S
    assert supervisor._working(child, later, silent + CPU_WINDOW_WALL_S, LIMIT_WALL_S)
    assert supervisor.busy_silences == 1 and child.busy
    _used_cpu_since(busy.pid, child.silent_cpu[0])
    assert supervisor._working(child, later + CPU_WINDOW_WALL_S, silent + 2 * CPU_WINDOW_WALL_S,
                               LIMIT_WALL_S)
    assert supervisor.busy_silences == 1  # one silence, counted once
    # A loop that never ends is busy too: past the longer bar it is killed all the same.
    assert not supervisor._working(child, later + 60, BUSY_FACTOR * LIMIT_WALL_S + 1,
                                   LIMIT_WALL_S)


def test_a_silent_app_using_no_cpu_is_hung(asleep) -> None:
    supervisor, child = _supervisor(), Child("FP", pid=asleep.pid)
    assert supervisor._working(child, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)
    # Within the window it is not judged yet, however idle.
    assert supervisor._working(child, 100.0 + CPU_WINDOW_WALL_S / 2, LIMIT_WALL_S + 2,
                               LIMIT_WALL_S)
    assert not supervisor._working(child, 100.0 + CPU_WINDOW_WALL_S, LIMIT_WALL_S + 4,
                                   LIMIT_WALL_S)
    assert supervisor.busy_silences == 0


def test_a_silent_app_whose_process_is_gone_is_not_waited_for(asleep) -> None:
    asleep.kill()
    asleep.wait()
    supervisor, child = _supervisor(), Child("COMPUTE", pid=asleep.pid)
    assert not supervisor._working(child, 100.0, LIMIT_WALL_S + 1, LIMIT_WALL_S)
