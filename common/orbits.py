"""Orbits of a dawn-dusk constellation: generator, SGP4 element sets and Skyfield satellites.

Shared by the simulated hardware (where is the satellite, is it in sunlight) and ground control
(when does it pass over a station). Ephemeris (de421) and timescale come from packaged data:
``skyfield-data`` and Skyfield's builtin tables; nothing is downloaded.

>>> [round(sun_synchronous_inclination_deg(km), 2) for km in (700.0, 800.0)]
[98.19, 98.6]
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Earth's equatorial radius (WGS84), km.
R_EARTH_KM = 6378.137
#: Earth's gravitational parameter, km³/s².
MU_KM3_S2 = 398600.4418
#: Second zonal harmonic of Earth's gravity field (EGM96).
J2 = 1.08262668e-3
#: Mean motion of the Sun along the ecliptic: one tropical year (rad/s); a sun-synchronous
#: orbit's node must precess at this rate.
SUN_RATE_RAD_S = 2 * math.pi / (365.2421897 * 86400)


def semi_major_axis_km(altitude_km: float) -> float:
    """Semi-major axis of a circular orbit at ``altitude_km`` above the equator."""
    return R_EARTH_KM + altitude_km


def orbital_period_min(altitude_km: float) -> float:
    """Period of a circular orbit, minutes (Kepler)."""
    a = semi_major_axis_km(altitude_km)
    return 2 * math.pi * math.sqrt(a**3 / MU_KM3_S2) / 60


def sun_synchronous_inclination_deg(altitude_km: float, eccentricity: float = 0.0) -> float:
    """Inclination at which J2 precesses the node once a year (the sun-synchronous condition).

    dΩ/dt = −(3/2) n J2 (R/p)² cos i, with p = a(1 − e²), set equal to the Sun's mean motion.
    """
    a = semi_major_axis_km(altitude_km)
    n = math.sqrt(MU_KM3_S2 / a**3)
    p = a * (1 - eccentricity**2)
    cos_i = -SUN_RATE_RAD_S / (1.5 * n * J2 * (R_EARTH_KM / p) ** 2)
    if not -1 <= cos_i <= 1:
        raise ValueError(f"no sun-synchronous orbit at {altitude_km} km")
    return math.degrees(math.acos(cos_i))


# --- offline data --------------------------------------------------------------------------------


@functools.cache
def timescale() -> Any:
    """Skyfield's builtin timescale (packaged leap seconds and ΔT; no download)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


@functools.cache
def ephemeris() -> Any:
    """The JPL de421 ephemeris packaged by ``skyfield-data`` (no download)."""
    import skyfield_data
    from skyfield.api import Loader

    with warnings.catch_warnings():
        # skyfield-data warns that its *finals2000A.all* is old; we use Skyfield's builtin
        # timescale instead, and only the planetary ephemeris from this package.
        warnings.simplefilter("ignore", RuntimeWarning)
        path = skyfield_data.get_skyfield_data_path()
    return Loader(path, verbose=False)("de421.bsp")


# --- element sets --------------------------------------------------------------------------------

_SGP4_EPOCH = dt.datetime(1949, 12, 31, tzinfo=dt.UTC)


def _tle_checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else (c == "-") for c in line[:68]) % 10


def _tle_exponent(value: float) -> str:
    """TLE's implied-decimal exponent notation, e.g. 0.00012345 -> ' 12345-3'."""
    if value == 0:
        return " 00000-0"
    exponent = math.floor(math.log10(abs(value))) + 1
    mantissa = round(abs(value) / 10**exponent * 1e5)
    if mantissa >= 100000:
        mantissa //= 10
        exponent += 1
    sign = "-" if value < 0 else " "
    return f"{sign}{mantissa:05d}{'-' if exponent < 0 else '+'}{abs(exponent)}"


@dataclass(frozen=True)
class Elements:
    """A mean element set for SGP4 (what a TLE carries), with the satellite's name."""

    name: str
    epoch: dt.datetime
    inclination_deg: float
    raan_deg: float
    eccentricity: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    mean_motion_rev_per_day: float
    bstar: float = 0.0
    catalog_number: int = 90000

    def satrec(self) -> Any:
        """An initialised ``sgp4`` satellite record."""
        from sgp4.api import WGS72, Satrec

        record = Satrec()
        record.sgp4init(
            WGS72, "i", self.catalog_number,
            (self.epoch - _SGP4_EPOCH).total_seconds() / 86400.0,
            self.bstar, 0.0, 0.0, self.eccentricity,
            math.radians(self.arg_perigee_deg), math.radians(self.inclination_deg),
            math.radians(self.mean_anomaly_deg),
            self.mean_motion_rev_per_day * 2 * math.pi / 1440.0,
            math.radians(self.raan_deg),
        )
        return record

    def skyfield(self) -> Any:
        """A Skyfield ``EarthSatellite``."""
        from skyfield.api import EarthSatellite

        return EarthSatellite.from_satrec(self.satrec(), timescale())

    def to_tle(self) -> tuple[str, str]:
        """The two lines of a TLE (with checksums)."""
        year = self.epoch.year % 100
        start = dt.datetime(self.epoch.year, 1, 1, tzinfo=dt.UTC)
        day = (self.epoch - start).total_seconds() / 86400.0 + 1
        line1 = (f"1 {self.catalog_number:05d}U 26001A   {year:02d}{day:012.8f}  .00000000 "
                 f" 00000-0 {_tle_exponent(self.bstar)} 0  999")
        line2 = (f"2 {self.catalog_number:05d} {self.inclination_deg:8.4f} "
                 f"{self.raan_deg % 360:8.4f} {round(self.eccentricity * 1e7):07d} "
                 f"{self.arg_perigee_deg % 360:8.4f} {self.mean_anomaly_deg % 360:8.4f} "
                 f"{self.mean_motion_rev_per_day:11.8f}    1")
        return (line1 + str(_tle_checksum(line1)), line2 + str(_tle_checksum(line2)))


def elements_from_tle(name: str, line1: str, line2: str) -> Elements:
    """An element set from a TLE's two lines (as SGP4 reads them)."""
    from sgp4.api import Satrec

    record = Satrec.twoline2rv(line1, line2)
    epoch = _SGP4_EPOCH + dt.timedelta(days=record.jdsatepoch + record.jdsatepochF - 2433281.5)
    return Elements(
        name, epoch, math.degrees(record.inclo), math.degrees(record.nodeo), record.ecco,
        math.degrees(record.argpo), math.degrees(record.mo), record.no_kozai * 1440 / (2 * math.pi),
        record.bstar, record.satnum,
    )


def read_tle_file(text: str) -> list[Elements]:
    """Element sets from a TLE file (three-line format with names, or bare two-line pairs)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    out: list[Elements] = []
    index = 0
    while index < len(lines):
        if lines[index].startswith("1 ") and index + 1 < len(lines):
            name, first, second = f"SAT-{len(out) + 1:02d}", lines[index], lines[index + 1]
            index += 2
        elif index + 2 < len(lines) + 0 and lines[index + 1].startswith("1 "):
            name, first, second = lines[index].strip(), lines[index + 1], lines[index + 2]
            index += 3
        else:
            raise ValueError(f"line {index + 1} of the TLE file is not a TLE: {lines[index]!r}")
        out.append(elements_from_tle(name, first, second))
    return out


# --- the constellation generator -----------------------------------------------------------------


def sun_right_ascension_deg(when: dt.datetime) -> float:
    """Right ascension of the true Sun (of date) at ``when``, from de421."""
    ts = timescale()
    eph = ephemeris()
    t = ts.from_datetime(when)
    ra, _, _ = eph["earth"].at(t).observe(eph["sun"]).apparent().radec(epoch="date")
    return float(ra._degrees)


@dataclass(frozen=True)
class Constellation:
    """A dawn-dusk sun-synchronous constellation: planes × satellites per plane.

    The first plane's ascending node is at local solar time ``ltan_h`` (18.0: dusk) at
    ``epoch``; further planes are ``plane_spacing_deg`` apart in right ascension of the node.
    Within a plane, satellites are evenly spaced in anomaly, or ``slot_spacing_deg`` apart
    when it is set (a train, close enough for in-plane laser links); plane ``p`` is shifted by
    ``p × phasing × 360 / total`` degrees (Walker's F).
    """

    epoch: dt.datetime
    altitude_km: float = 750.0
    ltan_h: float = 18.0
    planes: int = 1
    per_plane: int = 4
    phasing: int = 1
    plane_spacing_deg: float = 5.0
    name_format: str = "SAT-{index:02d}"
    first_catalog_number: int = 90001
    bstar: float = 0.0
    #: Anomaly between neighbours in a plane, degrees; 0 spaces them evenly around the orbit.
    slot_spacing_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.epoch.tzinfo is None:
            raise ValueError("constellation epoch must be an aware UTC datetime")
        if self.planes < 1 or self.per_plane < 1:
            raise ValueError("planes and per_plane must be at least 1")
        if not 160.0 <= self.altitude_km <= 2000.0:
            raise ValueError(f"altitude_km {self.altitude_km} is not a low Earth orbit")
        if not 0.0 <= self.ltan_h < 24.0:
            raise ValueError(f"ltan_h must be within [0, 24), not {self.ltan_h}")
        if not 0.0 <= self.slot_spacing_deg * (self.per_plane - 1) < 360.0:
            raise ValueError(f"slot_spacing_deg {self.slot_spacing_deg} does not fit "
                             f"{self.per_plane} satellites in one orbit")

    @property
    def size(self) -> int:
        """Number of satellites."""
        return self.planes * self.per_plane

    def names(self) -> list[str]:
        """Satellite names, in plane order."""
        return [self.name_format.format(index=i + 1) for i in range(self.size)]

    def elements(self) -> list[Elements]:
        """One SGP4 element set per satellite."""
        inclination = sun_synchronous_inclination_deg(self.altitude_km)
        raan0 = sun_right_ascension_deg(self.epoch) + 15.0 * (self.ltan_h - 12.0)
        a = semi_major_axis_km(self.altitude_km)
        mean_motion = math.sqrt(MU_KM3_S2 / a**3) * 86400 / (2 * math.pi)
        names = self.names()
        out = []
        for plane in range(self.planes):
            for slot in range(self.per_plane):
                index = plane * self.per_plane + slot
                spacing = self.slot_spacing_deg or 360.0 / self.per_plane
                anomaly = (spacing * slot + 360.0 * plane * self.phasing / self.size) % 360.0
                out.append(Elements(
                    names[index], self.epoch, inclination,
                    (raan0 + plane * self.plane_spacing_deg) % 360.0, 0.0, 0.0, anomaly,
                    mean_motion, self.bstar, self.first_catalog_number + index,
                ))
        return out


# --- where the satellite is, and in what light ---------------------------------------------------

#: The South Atlantic Anomaly as an ellipse in latitude/longitude (centre, half-axes), degrees:
#: a rough outline of where LEO upset rates peak.
SAA_CENTER = (-27.0, -45.0)
SAA_HALF_AXES = (20.0, 45.0)


def in_saa(latitude_deg: float, longitude_deg: float) -> bool:
    """True inside the (elliptical approximation of the) South Atlantic Anomaly."""
    dlat = (latitude_deg - SAA_CENTER[0]) / SAA_HALF_AXES[0]
    dlon = ((longitude_deg - SAA_CENTER[1] + 180) % 360 - 180) / SAA_HALF_AXES[1]
    return dlat * dlat + dlon * dlon <= 1.0


@dataclass(frozen=True)
class OrbitSample:
    """Where a satellite is at one time, and whether it sees the Sun."""

    unix: float
    latitude_deg: float
    longitude_deg: float
    altitude_km: float
    sunlit: bool
    beta_deg: float
    #: Cosine of the angle between the Sun and the array normal for a Sun-tracking array (1),
    #: kept so that a pointing model can lower it.
    sun_cosine: float = 1.0
    in_saa: bool = False


@dataclass
class OrbitTrack:
    """Samples a satellite's orbit in vectorised batches (Skyfield per point is slow)."""

    elements: Elements
    step_s: float = 10.0
    batch_s: float = 3600.0
    _satellite: Any = field(default=None, init=False, repr=False)
    _cache: list[OrbitSample] = field(default_factory=list, init=False, repr=False)
    _start: float = field(default=math.nan, init=False, repr=False)

    def _fill(self, start: float) -> None:
        import numpy as np
        from skyfield.api import wgs84

        if self._satellite is None:
            self._satellite = self.elements.skyfield()
        from skyfield.nutationlib import iau2000b_radians

        eph = ephemeris()
        count = int(self.batch_s / self.step_s) + 1
        unix = start + np.arange(count) * self.step_s
        t = skyfield_times(unix)
        # The 77-term nutation series (1 milliarcsecond, as Skyfield's own almanac searches
        # use) instead of the full 1365-term one: it was a third of the hardware simulation.
        t._nutation_angles_radians = iau2000b_radians(t)
        geocentric = self._satellite.at(t)
        sub = wgs84.subpoint_of(geocentric)
        height = wgs84.height_of(geocentric).km
        sunlit = geocentric.is_sunlit(eph)
        r = geocentric.position.km
        v = geocentric.velocity.km_per_s
        normal = np.cross(r.T, v.T)
        normal /= np.linalg.norm(normal, axis=1)[:, None]
        sun = (eph["sun"] - eph["earth"]).at(t).position.km.T
        sun /= np.linalg.norm(sun, axis=1)[:, None]
        beta = np.degrees(np.arcsin(np.clip((normal * sun).sum(axis=1), -1, 1)))
        lat, lon = sub.latitude.degrees, sub.longitude.degrees
        self._cache = [
            OrbitSample(float(unix[i]), float(lat[i]), float(lon[i]), float(height[i]),
                        bool(sunlit[i]), float(beta[i]), 1.0, in_saa(float(lat[i]), float(lon[i])))
            for i in range(count)
        ]
        self._start = start

    def at(self, unix: float) -> OrbitSample:
        """The sample at or just before ``unix`` (within ``step_s``)."""
        if not self._cache or not self._start <= unix < self._start + self.batch_s:
            self._fill(math.floor(unix / self.step_s) * self.step_s)
        index = int((unix - self._start) // self.step_s)
        return self._cache[index]


def itrs_positions_km(elements: Elements, unix: Any) -> Any:
    """Earth-fixed (ITRS) positions, km, of a satellite at an array of Unix times: (N, 3)."""
    import numpy as np
    from skyfield.framelib import itrs

    return np.asarray(elements.skyfield().at(skyfield_times(unix)).frame_xyz(itrs).km).T


def skyfield_times(unix: Any) -> Any:
    """A Skyfield time array for Unix times (seconds from the first one's UTC midnight, so
    that the conversion is vectorised: exact unless a leap second falls inside the span)."""
    import numpy as np

    times = np.asarray(unix, dtype=float)
    day = dt.datetime.fromtimestamp(float(times.min()), dt.UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    return timescale().utc(day.year, day.month, day.day, 0, 0, times - day.timestamp())


def eclipse_intervals(elements: Elements, start: dt.datetime, hours: float,
                      step_s: float = 10.0) -> list[tuple[float, float]]:
    """(entry, exit) Unix times of every eclipse within ``hours`` from ``start``."""
    track = OrbitTrack(elements, step_s=step_s)
    t0 = start.timestamp()
    out: list[tuple[float, float]] = []
    entry: float | None = None
    for k in range(int(hours * 3600 / step_s) + 1):
        sample = track.at(t0 + k * step_s)
        if not sample.sunlit and entry is None:
            entry = sample.unix
        elif sample.sunlit and entry is not None:
            out.append((entry, sample.unix))
            entry = None
    return out


def constellation_names(elements: Sequence[Elements]) -> list[str]:
    """The satellite names of element sets, in order."""
    return [e.name for e in elements]
