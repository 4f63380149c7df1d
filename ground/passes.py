"""Contact windows: when each satellite is above each ground station's elevation mask.

Built on Skyfield's ``EarthSatellite.find_events``. Skyfield reports a pass only when its
culmination lies inside the search interval, so the search is padded on both sides by more than
the longest pass and the result clipped to the passes that overlap the requested window.

>>> import datetime as dt
>>> from common.orbits import Constellation
>>> sat = Constellation(dt.datetime(2026, 3, 20, tzinfo=dt.UTC)).elements()[0]
>>> found = passes(sat, STATIONS["SVALBARD"], sat.epoch.timestamp(), sat.epoch.timestamp() + 86400)
>>> len(found) > 10, all(p.los > p.aos for p in found)
(True, True)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.files import write_atomic
from common.orbits import Elements, timescale

#: Padding of the search interval, seconds: longer than any LEO pass (~15 min at 750 km).
SEARCH_PAD_S = 1800.0


@dataclass(frozen=True)
class Station:
    """A ground station: where it is and the lowest elevation it can work at."""

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0
    mask_deg: float = 5.0

    def topos(self) -> Any:
        """The Skyfield position of the station."""
        from skyfield.api import wgs84

        return wgs84.latlon(self.latitude_deg, self.longitude_deg, self.altitude_m)


# Coordinates from public sources, ±0.1° (see the reference figures).
STATIONS: dict[str, Station] = {
    station.name: station
    for station in (
        Station("KASHGAR", 39.50, 75.93, 1300.0),
        Station("SANYA", 18.31, 109.31, 50.0),
        Station("JIAMUSI", 46.49, 130.77, 100.0),
        Station("MIYUN", 40.45, 116.86, 100.0),
        Station("MOHE", 52.97, 122.52, 400.0),
        Station("SVALBARD", 78.23, 15.41, 500.0),
        Station("TROLL", -72.01, 2.53, 1300.0),
        Station("KIRUNA", 67.88, 21.07, 300.0),
        Station("INUVIK", 68.32, -133.55, 100.0),
    )
}
#: The default network: the four Chinese stations of the mission.
CHINA = ("KASHGAR", "SANYA", "JIAMUSI", "MIYUN")
#: The polar sites, which see a sun-synchronous satellite nearly every orbit.
POLAR = ("SVALBARD", "TROLL", "KIRUNA", "INUVIK")
NETWORKS = {"china": CHINA, "polar": POLAR, "all": CHINA + POLAR}


def network(names: Iterable[str]) -> list[Station]:
    """Stations by name or network name (``china``, ``polar``, ``all``)."""
    out: list[Station] = []
    for name in names:
        key = name.strip()
        if key.lower() in NETWORKS:
            out += [STATIONS[n] for n in NETWORKS[key.lower()]]
        elif key.upper() in STATIONS:
            out.append(STATIONS[key.upper()])
        else:
            known = ", ".join([*NETWORKS, *STATIONS])
            raise ValueError(f"unknown station {name!r}; known: {known}")
    return list(dict.fromkeys(out))


def _iso(unix: float) -> str:
    """A Unix time as ISO 8601 UTC, to the microsecond."""
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Pass:
    """One contact window (times are Unix seconds, UTC)."""

    satellite: str
    station: str
    aos: float
    tca: float
    los: float
    max_elevation_deg: float

    @property
    def duration_s(self) -> float:
        """Length of the window."""
        return self.los - self.aos

    def to_json(self) -> dict[str, Any]:
        """The pass with ISO 8601 UTC times."""
        return {"satellite": self.satellite, "station": self.station, "aos": _iso(self.aos),
                "tca": _iso(self.tca), "los": _iso(self.los),
                "max_elevation_deg": round(self.max_elevation_deg, 2),
                "duration_s": round(self.duration_s, 1)}


def passes(elements: Elements, station: Station, start: float, end: float,
           mask_deg: float | None = None) -> list[Pass]:
    """Every pass of ``elements`` over ``station`` that overlaps [start, end] (Unix seconds)."""
    mask = station.mask_deg if mask_deg is None else mask_deg
    ts = timescale()
    satellite = elements.skyfield()
    topos = station.topos()

    def at(unix: float) -> Any:
        return ts.from_datetime(dt.datetime.fromtimestamp(unix, dt.UTC))

    times, events = satellite.find_events(topos, at(start - SEARCH_PAD_S),
                                          at(end + SEARCH_PAD_S), altitude_degrees=mask)
    unix = [(t.utc_datetime()).timestamp() for t in times]
    out: list[Pass] = []
    rise: float | None = None
    peaks: list[float] = []
    for when, kind in zip(unix, events, strict=True):
        if kind == 0:
            rise, peaks = when, []
        elif kind == 1 and rise is not None:
            peaks.append(when)
        elif kind == 2 and rise is not None:
            if peaks and when >= start and rise <= end:
                out.append(_window(elements.name, station, satellite, topos, rise, peaks, when))
            rise = None
    return out


def _window(name: str, station: Station, satellite: Any, topos: Any, rise: float,
            peaks: list[float], set_: float) -> Pass:
    ts = timescale()
    times = ts.from_datetimes([dt.datetime.fromtimestamp(p, dt.UTC) for p in peaks])
    elevations = (satellite - topos).at(times).altaz()[0].degrees
    best = max(range(len(peaks)), key=lambda i: elevations[i])
    return Pass(name, station.name, rise, peaks[best], set_, float(elevations[best]))


#: The contact plan ground control predicted at the start of a run, in its run directory: one
#: JSON object per window (``dawndusk passes --json``'s, relay windows with ``"relay"``).
CONTACT_PLAN_FILE = "contacts.jsonl"


def write_contact_plan(path: Path, windows: Iterable[Pass],
                       relayed: Iterable[tuple[str, str, float, float]] = ()) -> None:
    """Write station windows and relay windows (satellite, relay, start, end) to ``path``."""
    lines = [json.dumps(window.to_json()) for window in windows]
    lines += [json.dumps({"satellite": satellite, "relay": relay, "aos": _iso(start),
                          "los": _iso(end), "duration_s": round(end - start, 1)})
              for satellite, relay, start, end in relayed]
    write_atomic(path, "".join(f"{line}\n" for line in lines).encode())


def contact_plan(satellites: Iterable[Elements], stations: Iterable[Station], start: float,
                 end: float) -> list[Pass]:
    """Every pass of every satellite over every station, in AOS order."""
    station_list = list(stations)
    plan = [p for sat in satellites for station in station_list
            for p in passes(sat, station, start, end)]
    return sorted(plan, key=lambda p: (p.aos, p.satellite, p.station))


@dataclass(frozen=True)
class Coverage:
    """How much of a span a satellite is in contact with a set of stations (``windows`` counts
    contacts after merging overlapping passes over neighbouring stations)."""

    satellite: str
    windows: int
    contact_s: float
    longest_gap_s: float


def coverage(plan: Iterable[Pass], satellite: str, start: float, end: float) -> Coverage:
    """Contact time and longest gap of ``satellite`` within [start, end] (overlaps merged)."""
    intervals = sorted((max(p.aos, start), min(p.los, end)) for p in plan
                       if p.satellite == satellite and p.los > start and p.aos < end)
    merged: list[tuple[float, float]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    contact = sum(b - a for a, b in merged)
    edges = [start, *[x for ab in merged for x in ab], end]
    gaps = [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]
    return Coverage(satellite, len(merged), contact, max(gaps) if gaps else end - start)
