"""Contact windows against an independent brute-force elevation search."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from common.orbits import Constellation
from ground.passes import STATIONS, Station, contact_plan, coverage, network, passes

EPOCH = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
WGS84_A, WGS84_F = 6378.137, 1 / 298.257223563


def _station_ecef(station: Station) -> np.ndarray:
    lat, lon = math.radians(station.latitude_deg), math.radians(station.longitude_deg)
    e2 = WGS84_F * (2 - WGS84_F)
    n = WGS84_A / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    h = station.altitude_m / 1000
    return np.array([(n + h) * math.cos(lat) * math.cos(lon),
                     (n + h) * math.cos(lat) * math.sin(lon),
                     (n * (1 - e2) + h) * math.sin(lat)])


def _elevation_deg(elements, station: Station, unix: np.ndarray) -> np.ndarray:
    """Elevation from raw SGP4 (TEME) rotated by GMST: independent of Skyfield's frames."""
    record = elements.satrec()
    jd = 2440587.5 + unix // 86400
    fr = (unix % 86400) / 86400
    error, r, _ = record.sgp4_array(jd, fr)
    assert not error.any()
    t = (jd - 2451545.0 + fr) / 36525.0  # UT1 ≈ UTC: under a second, a few metres here
    gmst = np.radians((67310.54841 + (876600 * 3600 + 8640184.812866) * t + 0.093104 * t**2
                       - 6.2e-6 * t**3) % 86400 / 240.0)
    x = r[:, 0] * np.cos(gmst) + r[:, 1] * np.sin(gmst)
    y = -r[:, 0] * np.sin(gmst) + r[:, 1] * np.cos(gmst)
    sat = np.stack([x, y, r[:, 2]], axis=1)
    site = _station_ecef(station)
    lat, lon = math.radians(station.latitude_deg), math.radians(station.longitude_deg)
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    rel = sat - site
    return np.degrees(np.arcsin(rel @ up / np.linalg.norm(rel, axis=1)))


def _brute_force(elements, station: Station, start: float, end: float) -> list[tuple[int, int]]:
    """(AOS, LOS) whole seconds: first second above the mask, first second below it again."""
    seconds = np.arange(math.ceil(start), math.floor(end) + 1, 1.0)
    above = _elevation_deg(elements, station, seconds) >= station.mask_deg
    changes = np.flatnonzero(np.diff(above.astype(np.int8)))
    out, rise = [], None
    for index in changes:
        if not above[index]:
            rise = int(seconds[index + 1])
        elif rise is not None:
            out.append((rise, int(seconds[index + 1])))
            rise = None
    return out


@pytest.mark.parametrize("station", ["KASHGAR", "SVALBARD"])
def test_a_week_of_passes_agrees_with_brute_force_within_a_second(station: str) -> None:
    elements = Constellation(EPOCH).elements()[0]
    start = EPOCH.timestamp()
    end = start + 7 * 86400
    found = passes(elements, STATIONS[station], start, end)
    reference = _brute_force(elements, STATIONS[station], start, end)
    assert len(found) == len(reference) > 7
    for ours, (aos, los) in zip(found, reference, strict=True):
        assert abs(ours.aos - aos) <= 1.0, (ours, aos)
        assert abs(ours.los - los) <= 1.0, (ours, los)
        assert ours.aos < ours.tca < ours.los
        assert ours.max_elevation_deg >= STATIONS[station].mask_deg


def test_a_pass_straddling_the_window_edges_is_reported_whole() -> None:
    elements = Constellation(EPOCH).elements()[0]
    start = EPOCH.timestamp()
    day = passes(elements, STATIONS["SVALBARD"], start, start + 86400)
    middle = day[3]
    clipped = passes(elements, STATIONS["SVALBARD"], middle.tca, middle.tca + 1)
    assert len(clipped) == 1
    # The same pass, whole (root finding differs by well under a second between searches).
    assert abs(clipped[0].aos - middle.aos) < 1.0 and abs(clipped[0].los - middle.los) < 1.0


def test_coverage_of_the_chinese_and_polar_networks_matches_the_reference_shape() -> None:
    elements = Constellation(EPOCH, altitude_km=750).elements()[0]
    start = EPOCH.timestamp()
    end = start + 86400
    china = coverage(contact_plan([elements], network(["china"]), start, end), "SAT-01", start, end)
    polar = coverage(contact_plan([elements], network(["polar"]), start, end), "SAT-01", start, end)
    assert 90 <= china.contact_s / 60 <= 160 and 5 <= china.longest_gap_s / 3600 <= 9
    assert 300 <= polar.contact_s / 60 <= 420 and polar.longest_gap_s / 3600 <= 2.0


def test_unknown_station_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown station 'ATLANTIS'"):
        network(["china", "ATLANTIS"])


def test_the_contact_plan_file_holds_every_window(tmp_path) -> None:
    import json

    from ground.passes import Pass, write_contact_plan

    window = Pass("SAT-01", "KASHGAR", 1773966000.0, 1773966300.0, 1773966600.5, 42.0)
    path = tmp_path / "contacts.jsonl"
    write_contact_plan(path, [window], [("SAT-02", "TIANLIAN-1", 1773967000.0, 1773968000.0)])
    station, relayed = (json.loads(line) for line in path.read_text().splitlines())
    assert station == window.to_json()
    assert station["aos"] == "2026-03-20T00:20:00.000000Z" and station["duration_s"] == 600.5
    assert relayed == {"satellite": "SAT-02", "relay": "TIANLIAN-1",
                       "aos": "2026-03-20T00:36:40.000000Z",
                       "los": "2026-03-20T00:53:20.000000Z", "duration_s": 1000.0}
