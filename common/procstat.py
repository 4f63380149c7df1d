"""What the kernel says about a process (Linux ``/proc``): its CPU time so far."""

from __future__ import annotations

from pathlib import Path


def cpu_ticks(pid: int, main_thread: bool = False) -> int | None:
    """utime + stime of process ``pid`` (all its threads, or with ``main_thread`` only the
    thread it started with), in clock ticks (``os.sysconf("SC_CLK_TCK")`` a second); ``None``
    when it is gone or there is no ``/proc``."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    try:
        stat = Path(path).read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])
