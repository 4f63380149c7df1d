"""What the kernel says about a process (Linux ``/proc``): its CPU time so far."""

from __future__ import annotations

from pathlib import Path


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of process ``pid``, in clock ticks (``os.sysconf("SC_CLK_TCK")`` a
    second); ``None`` when it is gone or there is no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])
