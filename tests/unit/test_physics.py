"""Physics of the simulated hardware: power, energy balance, thermal, upsets."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.orbits import Constellation, OrbitSample, OrbitTrack
from flight.sim.models.power import Battery, PowerSystem, SolarArray
from flight.sim.models.satellite import HardwareConfig, SatelliteModel
from tests.unit.test_orbits import JUNE_SOLSTICE

SUN = OrbitSample(0.0, 0.0, 0.0, 750.0, True, 80.0)
SHADOW = OrbitSample(0.0, 0.0, 0.0, 750.0, False, 80.0)
SAA = OrbitSample(0.0, -27.0, -45.0, 750.0, True, 80.0, 1.0, True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 20_000), st.floats(0, 20_000), st.floats(0.1, 600)),
                max_size=60), st.floats(0, 1))
def test_state_of_charge_stays_within_0_and_100_percent(steps, soc) -> None:
    power = PowerSystem(SolarArray(), Battery(soc=soc))
    for solar, load, dt in steps:
        power.step(dt, solar, load)
        assert 0.0 <= power.battery.soc <= 1.0
        assert power.last.shed_w >= 0 and power.last.curtailed_w >= 0


def test_energy_balances_over_an_orbit_through_eclipse() -> None:
    elements = Constellation(JUNE_SOLSTICE, per_plane=1).elements()[0]
    track = OrbitTrack(elements)
    model = SatelliteModel(HardwareConfig(initial_soc=0.6), random.Random(1))
    for node in range(4):
        model.set_node(node, "BUSY")
    start_energy = model.power.battery.energy_wh
    t0 = JUNE_SOLSTICE.timestamp()
    sunlit = set()
    for second in range(0, 101 * 60, 10):
        orbit = track.at(t0 + second)
        sunlit.add(orbit.sunlit)
        model.step(10.0, orbit)
    assert sunlit == {True, False}, "the orbit must cross an eclipse"
    totals = model.power.totals
    stored = model.power.battery.energy_wh - start_energy
    accounted = totals.served_wh + totals.curtailed_wh + totals.loss_wh + stored
    assert accounted == pytest.approx(totals.solar_wh, rel=0.01)
    assert totals.shed_wh == 0


def test_an_eclipse_with_every_node_busy_drains_the_battery() -> None:
    model = SatelliteModel(HardwareConfig(), random.Random(1))
    for node in range(4):
        model.set_node(node, "BUSY")
    before = model.power.battery.soc
    for _ in range(60):
        model.step(10.0, SHADOW)
    assert model.power.battery.soc < before - 0.05
    assert model.readings(SHADOW)["EPS.BATTERY_CURRENT"] < 0


def test_upsets_are_deterministic_per_seed_likelier_in_the_saa_and_fault_a_node() -> None:
    def upsets(seed: int, orbit: OrbitSample) -> list:
        model = SatelliteModel(HardwareConfig(upsets_per_node_day=20.0), random.Random(seed))
        found = []
        for _ in range(2000):
            found += model.step(10.0, orbit)
            for upset in found:
                model.set_node(upset.node, "OFF")
                model.set_node(upset.node, "IDLE")
        return found

    assert upsets(3, SUN) == upsets(3, SUN)
    assert len(upsets(3, SAA)) > 5 * max(1, len(upsets(3, SUN)))
    model = SatelliteModel(HardwareConfig(), random.Random(1))
    model.inject_upset(2)
    assert model.readings(SUN)["NODES.NODE2_STATE"] == "FAULT"
    model.set_node(2, "BUSY")
    assert model.nodes.states[2] == "FAULT", "a fault needs a power cycle"
    model.set_node(2, "OFF")
    model.set_node(2, "IDLE")
    assert model.nodes.states[2] == "IDLE"


def steady(model: SatelliteModel, hours: float = 6.0) -> dict:
    for _ in range(int(hours * 60)):
        model.step(60.0, SUN)
    return model.readings(SUN)


def test_steady_temperatures_are_plausible_and_a_degraded_radiator_runs_hotter() -> None:
    busy = SatelliteModel(HardwareConfig(), random.Random(1))
    for node in range(4):
        busy.set_node(node, "BUSY")
    hot = steady(busy)
    assert 20.0 < hot["THERMAL.RADIATOR_TEMP"] < 80.0
    assert hot["NODES.NODE0_TEMP"] > hot["THERMAL.RADIATOR_TEMP"] + 10
    idle = steady(SatelliteModel(HardwareConfig(), random.Random(1)))
    assert idle["NODES.NODE0_TEMP"] < hot["NODES.NODE0_TEMP"] - 30
    degraded = SatelliteModel(HardwareConfig(), random.Random(1))
    for node in range(4):
        degraded.set_node(node, "BUSY")
    degraded.degrade_radiator(0.3)
    assert steady(degraded)["NODES.NODE0_TEMP"] > hot["NODES.NODE0_TEMP"] + 30


def test_the_louvers_keep_an_idle_or_unpowered_satellite_within_its_limits() -> None:
    from common.dictionary import DICTIONARY

    def inside(reading: dict, name: str) -> bool:
        limits = DICTIONARY.params[name].limits
        assert limits is not None
        return limits.level(reading[name]) is None

    for state in ("IDLE", "OFF"):
        model = SatelliteModel(HardwareConfig(), random.Random(1))
        for node in range(4):
            model.set_node(node, state)
        reading = steady(model)
        for name in ("THERMAL.BATTERY_TEMP", "THERMAL.BUS_TEMP", "THERMAL.RADIATOR_TEMP"):
            assert inside(reading, name), (state, name, reading[name])
        assert reading["THERMAL.BATTERY_TEMP"] > 5.0, state
    # Without louvers (open whatever the temperature), the same idle satellite freezes.
    bare = SatelliteModel(HardwareConfig(louver_closed=1.0), random.Random(1))
    assert not inside(steady(bare), "THERMAL.BATTERY_TEMP")


def test_failing_battery_strings_takes_capacity_away() -> None:
    model = SatelliteModel(HardwareConfig(), random.Random(1))
    before = model.readings(SUN)["EPS.BATTERY_ENERGY"]
    assert model.fail_battery_strings(2) == 2
    after = model.readings(SUN)
    assert after["EPS.BATTERY_ENERGY"] == pytest.approx(before * 6 / 8)
    assert after["EPS.CELLS_FAILED"] == 2


def test_thermal_integration_stays_finite_with_a_one_minute_step() -> None:
    model = SatelliteModel(HardwareConfig(), random.Random(1))
    for node in range(4):
        model.set_node(node, "BUSY")
    for step in range(2000):
        model.step(60.0, SUN if step % 100 < 65 else SHADOW)
        temps = [v for k, v in model.readings(SUN).items() if k.endswith("_TEMP")]
        assert all(-150 < t < 200 for t in temps)


def test_readings_cover_every_sensor_parameter() -> None:
    from common.dictionary import DICTIONARY

    readings = SatelliteModel(HardwareConfig(nodes=3), random.Random(1)).readings(SUN)
    wanted = {p.name for s in DICTIONARY.apps["SIM"].structures[1:] for p in s.params}
    assert wanted <= set(readings)
    assert readings["NODES.NODE5_STATE"] == "OFF" and readings["NODES.COUNT"] == 3
