"""A periodic check that knows when its own process stalled: that time is nobody's silence.

A heartbeat watch judges an app silent when no beat has reached it for a while. Past the rate
a machine can sustain, a whole process can go seconds of wall time without running its loop:
one iteration works off a backlog while the timers wait. When the loop comes back, the watch's
tick runs late — its due time long past — and every beat the watch would have read meanwhile
is still queued behind it, so every app it watches looks silent at once (seen at 100 satellites
and 60×: fault protection asked for restarts of the apps it shares a process with, and the
restarted processes started behind the same backlog, 262 restarts in 20 s).

A watch that stalled cannot have heard anyone in that time, so the stall is taken off every
app's silence: a late app is judged on the time the watch was looking, a silent one is still
found (one stall later at worst). What counts as a stall: the tick ran more than two periods
late, and more than ``STALL_WALL_S`` of wall time passed since the previous look. At high
rates coalesced timers always run a little late in simulated time (a 5 ms wake at 1000× is
five simulated seconds), which the wall-clock bar keeps from being taken for a stall.

A watcher whose loop keeps turning can still be behind on its input: beats wait in its socket
behind telemetry it has not read. The bus reader counts the batches after which input was
left waiting; while that count grows, the watcher judges no one (the time is given back too).
Under a lasting overload a watch then judges nobody, which leaves a hung app to the
executive's watchdog: it asks the kernel whether the silent app's process is using CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Wall seconds between two looks beyond which a late tick is a stall of the process.
STALL_WALL_S = 1.0


@dataclass
class Lookout:
    """When a check with period ``period_s`` (simulated) last looked, and its stalls.

    ``behind_cap_wall_s`` bounds what one run of looks behind on the input gives back: past
    it, silence counts again, so a watcher behind for good still finds a hung app (later).
    """

    period_s: float
    sim: float
    wall: float
    behind_cap_wall_s: float = float("inf")
    stalls: int = 0
    stalled_sim: float = 0.0
    behind: int = 0
    _backlogs: int = 0
    _behind_wall: float = 0.0

    def reset(self, now_sim: float, now_wall: float, backlogs: int = 0) -> None:
        """Start looking afresh (the app that watches has just started)."""
        self.sim, self.wall, self._backlogs, self._behind_wall = now_sim, now_wall, backlogs, 0.0

    def look(self, due: float, now_sim: float, now_wall: float,
             backlogs: int = 0) -> tuple[float, float]:
        """Look now, for the tick due at ``due``; return the (simulated, wall) seconds since
        the last look that the check was stalled for (zeros when it was not): the time since
        that look but one period, at most the tick's lateness.

        ``backlogs`` counts the full input batches after which the watcher's input was left
        waiting: if it grew since the last look, the watcher was behind on its input — beats
        it has not read yet are queued there — and the whole time since that look is given
        back, up to ``behind_cap_wall_s`` of wall time in one run of such looks."""
        gap_sim, gap_wall = now_sim - self.sim, now_wall - self.wall
        self.sim, self.wall = now_sim, now_wall
        was_behind, self._backlogs = backlogs > self._backlogs, backlogs
        if not was_behind:
            self._behind_wall = 0.0
        elif gap_sim > 0 and self._behind_wall + gap_wall <= self.behind_cap_wall_s:
            self._behind_wall += gap_wall
            self.behind += 1
            return gap_sim, gap_wall
        late = now_sim - due
        if late <= 2 * self.period_s or gap_wall <= STALL_WALL_S or gap_sim <= self.period_s:
            return 0.0, 0.0
        stalled_sim = min(late, gap_sim - self.period_s)
        self.stalls += 1
        self.stalled_sim += stalled_sim
        return stalled_sim, gap_wall * stalled_sim / gap_sim

    @staticmethod
    def shifted(beat_sim: float, beat_wall: float, given: tuple[float, float], now_sim: float,
                now_wall: float) -> tuple[float, float]:
        """A last beat's (simulated, wall) times with ``given`` (from :meth:`look`) taken off
        its silence; never later than now (a beat read after the stall stays as it is)."""
        return min(beat_sim + given[0], max(beat_sim, now_sim)), \
            min(beat_wall + given[1], max(beat_wall, now_wall))
