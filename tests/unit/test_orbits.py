"""Orbits of a dawn-dusk constellation: inclination, sunlight, eclipses, element sets."""

from __future__ import annotations

import datetime as dt

import pytest

from common.orbits import (
    Constellation,
    eclipse_intervals,
    elements_from_tle,
    orbital_period_min,
    read_tle_file,
    sun_synchronous_inclination_deg,
)

MARCH_EQUINOX = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
JUNE_SOLSTICE = dt.datetime(2026, 6, 21, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("altitude", "expected"), [(700.0, 98.19), (800.0, 98.60)])
def test_sun_synchronous_inclination(altitude: float, expected: float) -> None:
    assert sun_synchronous_inclination_deg(altitude) == pytest.approx(expected, abs=0.02)


def test_periods_match_the_reference() -> None:
    assert orbital_period_min(700.0) == pytest.approx(98.8, abs=0.1)
    assert orbital_period_min(800.0) == pytest.approx(100.9, abs=0.1)


def test_a_dusk_orbit_is_in_full_sunlight_at_the_march_equinox() -> None:
    elements = Constellation(MARCH_EQUINOX, per_plane=1).elements()[0]
    assert eclipse_intervals(elements, MARCH_EQUINOX, 24, step_s=30) == []


def test_near_the_june_solstice_eclipses_are_short() -> None:
    elements = Constellation(JUNE_SOLSTICE, per_plane=1, altitude_km=700).elements()[0]
    eclipses = eclipse_intervals(elements, JUNE_SOLSTICE, 12, step_s=30)
    assert len(eclipses) >= 6
    longest = max(end - start for start, end in eclipses)
    assert 5 * 60 < longest <= 20.5 * 60, longest


def test_element_sets_round_trip_through_tle() -> None:
    for elements in Constellation(MARCH_EQUINOX, planes=2, per_plane=3).elements():
        line1, line2 = elements.to_tle()
        assert len(line1) == len(line2) == 69
        back = elements_from_tle(elements.name, line1, line2)
        assert back.inclination_deg == pytest.approx(elements.inclination_deg, abs=1e-4)
        assert back.raan_deg == pytest.approx(elements.raan_deg, abs=1e-4)
        assert back.mean_anomaly_deg == pytest.approx(elements.mean_anomaly_deg, abs=1e-4)
        assert back.mean_motion_rev_per_day == pytest.approx(
            elements.mean_motion_rev_per_day, abs=1e-7)
        assert abs((back.epoch - elements.epoch).total_seconds()) < 0.01
    text = "\n".join(f"{e.name}\n" + "\n".join(e.to_tle())
                     for e in Constellation(MARCH_EQUINOX).elements())
    assert [e.name for e in read_tle_file(text)] == ["SAT-01", "SAT-02", "SAT-03", "SAT-04"]


def test_the_generator_spreads_satellites_and_planes() -> None:
    constellation = Constellation(MARCH_EQUINOX, planes=2, per_plane=4, plane_spacing_deg=10)
    elements = constellation.elements()
    assert len(elements) == 8 and len({e.name for e in elements}) == 8
    assert len({round(e.mean_anomaly_deg, 3) for e in elements[:4]}) == 4
    assert elements[4].raan_deg - elements[0].raan_deg == pytest.approx(10.0)
    with pytest.raises(ValueError, match="aware"):
        Constellation(dt.datetime(2026, 1, 1))
