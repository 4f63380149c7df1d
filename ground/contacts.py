"""Contact schedules: which station sees a satellite now, and when next, extended as time runs.

Built from the windows of :mod:`ground.passes`, a few hours ahead at a time. The space link uses
it as the physical truth of visibility; ground control uses the same prediction to release
commands inside windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.orbits import MU_KM3_S2, R_EARTH_KM, Elements
from ground.passes import Pass, Station, passes

#: A window must have this long left for a command to be released into it, seconds...
RELEASE_MARGIN_S = 5.0
#: ...and at least this much wall time, at the clock's rate: between ground control and the
#: space link a command spends a few wall milliseconds (more on a loaded machine), which at
#: 1500x is several simulated seconds — enough to miss the end of a pass; and its verification
#: reports must come down before the pass ends too. 0.05 s was too little on a loaded machine:
#: in a CI run at 800x, pings released 74 simulated seconds (92 wall ms) before LOS got no
#: answer down in that pass and timed out.
RELEASE_MARGIN_WALL_S = 0.15


def release_margin(rate: float) -> float:
    """Simulated seconds a window must have left for a command released into it now."""
    return max(RELEASE_MARGIN_S, RELEASE_MARGIN_WALL_S * rate)


@dataclass
class ContactSchedule:
    """Contact windows of one satellite over a set of stations, extended as time goes on."""

    elements: Elements
    stations: list[Station]
    horizon_s: float
    windows: list[Pass]
    computed_until: float = -math.inf

    @classmethod
    def of(cls, elements: Elements, stations: list[Station], horizon_s: float) -> ContactSchedule:
        """Visibility of ``elements`` (nothing computed yet)."""
        return cls(elements, stations, horizon_s, [])

    def _extend(self, now: float) -> None:
        start = max(now - 3600.0, self.computed_until)
        end = now + self.horizon_s
        found = [p for station in self.stations
                 for p in passes(self.elements, station, start, end)]
        known = {(p.station, round(p.aos)) for p in self.windows}
        self.windows += [p for p in found if (p.station, round(p.aos)) not in known]
        self.windows = sorted((p for p in self.windows if p.los > now - 3600.0),
                              key=lambda p: p.aos)
        self.computed_until = end

    def known(self, now: float) -> tuple[list[Pass], float]:
        """The windows known at ``now`` and the time until which they are complete."""
        if now + 600.0 > self.computed_until:
            self._extend(now)
        return self.windows, self.computed_until

    def window_at(self, now: float) -> Pass | None:
        """The pass in progress now (the highest, if several stations see the satellite)."""
        if now + 600.0 > self.computed_until:
            self._extend(now)
        best: Pass | None = None
        for window in self.windows:
            if window.aos > now:
                break
            if window.los >= now and (best is None
                                      or window.max_elevation_deg > best.max_elevation_deg):
                best = window
        return best

    def next_window(self, now: float) -> Pass | None:
        """The next pass to start after ``now``."""
        if now + 600.0 > self.computed_until:
            self._extend(now)
        for window in self.windows:
            if window.aos > now:
                return window
        return None

    def altitude_km(self) -> float:
        """Mean altitude from the element set's mean motion."""
        n = self.elements.mean_motion_rev_per_day * 2 * math.pi / 86400
        return (MU_KM3_S2 / n**2) ** (1 / 3) - R_EARTH_KM


