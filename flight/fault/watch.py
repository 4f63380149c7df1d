"""What fault protection watches that is not a parameter: heartbeats and the command-loss timer.

Both judge on simulated time; the heartbeat watch also waits a floor of wall-clock silence, so
that a machine too loaded to run an app for a moment at a high simulation rate does not get
the app restarted for it. Past the rate a machine sustains it tells a late app from a silent
one: time the watch itself stalled or was behind on its input is nobody's silence
(:mod:`flight.framework.lookout`), and an app whose process is busy using CPU is taken for
late until a longer bar (:mod:`flight.framework.busy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flight.framework.busy import BusyCheck
from flight.framework.lookout import Lookout


@dataclass(frozen=True)
class Silence:
    """An app overdue: its name and how long it has been silent (simulated seconds)."""

    app: str
    age: float


class HeartbeatWatch:
    """Last heartbeat of every watched app, and who is being restarted or kept stopped."""

    def __init__(self, apps: Iterable[str], now_sim: float, now_wall: float,
                 stopped: Iterable[str] = (), period_s: float = 1.0,
                 behind_cap_wall_s: float = float("inf")) -> None:
        self.apps = tuple(apps)
        self.beats = dict.fromkeys(self.apps, (now_sim, now_wall))
        self.stopped: set[str] = set(stopped)
        self.restarting: dict[str, float] = {}
        #: The checks (every ``period_s`` simulated) and the stalls taken off every silence.
        self.lookout = Lookout(period_s, now_sim, now_wall, behind_cap_wall_s)
        #: Each app's process (from its beats), and those silent but busy, not judged yet.
        self.pids: dict[str, int] = {}
        self.busy = BusyCheck()

    def beat(self, app: str, now_sim: float, now_wall: float, ready: bool = False,
             pid: int = 0) -> None:
        """A heartbeat (or the READY of a new process) from ``app``, in process ``pid``."""
        if app in self.beats:
            self.beats[app] = (now_sim, now_wall)
            self.busy.heard(app)
            if pid > 0:
                self.pids[app] = pid
            if ready:
                self.restarting.pop(app, None)
                self.stopped.discard(app)  # running again, however it was started

    def stopped_on_purpose(self, app: str) -> None:
        """The app was stopped by command: its silence is no fault."""
        self.stopped.add(app)

    def started(self, app: str, now_sim: float, now_wall: float,
                restart: bool = False) -> None:
        """The app was (re)started by command: judge it afresh once it speaks."""
        self.stopped.discard(app)
        if app in self.beats:
            self.beats[app] = (now_sim, now_wall)
            self.busy.heard(app)
            self.pids.pop(app, None)  # a new process: its beats will say which
            if restart:
                self.restarting[app] = now_wall

    def overdue(self, now_sim: float, now_wall: float, timeout_s: float, floor_wall_s: float,
                grace_wall_s: float, due: float | None = None,
                backlogs: int = 0) -> list[Silence]:
        """Apps silent for ``timeout_s`` simulated and ``floor_wall_s`` wall seconds.

        An app being restarted is not judged for ``grace_wall_s`` (a new process is on its
        way). Each app found is given a fresh start, so it is reported once per timeout. With
        ``due``, the time the check was due: a check that ran so late that its process had
        stalled, or that finds the watcher behind on its input (``backlogs``, the count of
        its full input batches, grew), takes that time off every app's silence
        (:mod:`flight.framework.lookout`).
        """
        if due is not None:
            given = self.lookout.look(due, now_sim, now_wall, backlogs)
            if given[0]:
                self.beats = {app: Lookout.shifted(sim, wall, given, now_sim, now_wall)
                              for app, (sim, wall) in self.beats.items()}
        found = []
        for app in self.apps:
            if app in self.stopped:
                continue
            asked = self.restarting.get(app)
            if asked is not None and now_wall - asked < grace_wall_s:
                continue
            sim, wall = self.beats[app]
            if now_sim - sim > timeout_s and now_wall - wall > floor_wall_s:
                if self.busy.working(app, self.pids.get(app, 0), now_wall, now_wall - wall,
                                     floor_wall_s):
                    continue  # its process is busy: late, not hung (flight.framework.busy)
                found.append(Silence(app, now_sim - sim))
                self.beats[app] = (now_sim, now_wall)
                self.busy.heard(app)  # judged: its next silence is looked at afresh
        return found


@dataclass
class CommandLossTimer:
    """Time since the last valid telecommand from the ground; fires once per silence."""

    last_contact: float
    fired: bool = False
    contacts: int = field(default=0)

    def contact(self, now: float) -> None:
        """A valid telecommand from the ground arrived: the timer starts again."""
        self.last_contact = now
        self.fired = False
        self.contacts += 1

    def age(self, now: float) -> float:
        """Simulated seconds since the last contact."""
        return max(0.0, now - self.last_contact)

    def expired(self, now: float, limit_s: float) -> float | None:
        """The silence, the first time it exceeds ``limit_s``; None otherwise."""
        age = self.age(now)
        if self.fired or age <= limit_s:
            return None
        self.fired = True
        return age
