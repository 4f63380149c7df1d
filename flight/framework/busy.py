"""Is a silent app hung, or busy? Ask the kernel whether its process is using CPU.

Past the rate a machine sustains, a process can spend many seconds in one turn of its loop
working off a backlog, its heartbeats waiting behind; killing it only starts a new process
behind the same backlog (at 100 satellites and 60× that was 262 restarts in 20 s). So a watch
that finds an app silent past its bars asks how much CPU the main thread of the app's process
has used (where the app's loop runs; ZeroMQ's I/O threads keep taking in messages for a loop
that may be blocked). One that used some over the last ``CPU_WINDOW_WALL_S`` is busy, and its
beats are taken for late. A busy app silent ``BUSY_FACTOR`` times the bar is judged all the
same (a loop that never ends is busy too), and one using no CPU (blocked, deadlocked,
stopped) is judged once the window has passed.

Apps sharing a process (``app_hosting = "together"``) beat with that process's pid, so fault
protection judging its process mates measures its own, busy, main thread: a mate whose beats
stopped while the shared loop runs on (its heartbeat timer lost to a bug) is found only at the
longer bar. The shared loop itself cannot hang without fault protection hanging with it, and
the executive's watchdog, in another process, sees that. Apps hosted in the executive's own
process (``app_hosting = "executive"``) beat with the executive's pid: there the watchdog does
not ask (the busy thread would be its own), and a hung loop hangs the watchdog with it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from common.procstat import cpu_ticks
from flight.framework.lookout import Lookout

#: A busy app silent this many times a watch's wall-clock bar is judged all the same.
BUSY_FACTOR = 6
#: Wall seconds over which a silent app's process must use some CPU to count as busy (a
#: starved process gets a few milliseconds a second; CPU time is counted in 10 ms ticks).
CPU_WINDOW_WALL_S = 3.0


@dataclass
class BusyCheck:
    """The CPU seen of each silent app's process, and how many silences were found busy."""

    #: App → (CPU ticks of its process, wall time) when last looked at while silent.
    looked: dict[Hashable, tuple[int, float]] = field(default_factory=dict)
    #: Apps found busy in their current silence (each silence counts once).
    found: set[Hashable] = field(default_factory=set)
    busy_silences: int = 0

    def heard(self, app: Hashable) -> None:
        """``app`` beat: its silence, if any, is over."""
        if self.looked:
            self.looked.pop(app, None)
            self.found.discard(app)

    def working(self, app: Hashable, pid: int, now_wall: float, silent_wall: float,
                limit_wall: float) -> bool:
        """True if ``app`` (process ``pid``), silent past a watch's bars, is to be taken for
        busy rather than hung for now: judge it only when this is False."""
        if silent_wall > BUSY_FACTOR * limit_wall or pid <= 0:
            return False
        ticks = cpu_ticks(pid, main_thread=True)
        if ticks is None:
            return False  # gone: its exit is on its way
        seen = self.looked.get(app)
        if seen is None:
            self.looked[app] = (ticks, now_wall)
            return True  # look again once the window has passed
        before, since = seen
        if now_wall - since < CPU_WINDOW_WALL_S:
            return True
        if ticks > before:
            self.looked[app] = (ticks, now_wall)
            if app not in self.found:
                self.found.add(app)
                self.busy_silences += 1
            return True
        return False


def watch_counters(lookout: Lookout, busy: BusyCheck) -> dict[str, int]:
    """A heartbeat watcher's status counters (``heartbeat_watch_params`` in the dictionary)."""
    return {"WATCH_STALLS": lookout.stalls, "WATCH_BEHIND": lookout.behind,
            "BUSY_SILENCES": busy.busy_silences}
