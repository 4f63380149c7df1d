"""One satellite's hardware: power, thermal and compute together, and its sensor readings.

Defaults (each from REFERENCE figures or derived from them):

* compute: 4 nodes, H100-class 700 W busy (NVIDIA SXM TDP), 150 W idle (assumed: ~20 % of
  busy, see nodes.py), upsets derived in nodes.py;
* platform: 300 W — an assumption, not a source: avionics, attitude control, TT&C and thermal
  control of a ~1-tonne bus at a few hundred watts; a 150 W heater on a 5/10 °C thermostat
  (assumed); the radiator's louvers (thermal.py) keep the platform warm while the nodes idle
  or are off;
* array: 12 m² sun-tracking, 30 % triple-junction cells (Dawn array paper), packing 0.85 →
  ~4.2 kW, enough for all nodes busy plus the platform (derived);
* battery: 3 kWh in 8 strings (~20 kg at 150 Wh/kg) — the longest 19-min eclipse at one busy
  node and the platform takes ~10 % depth of discharge, all nodes busy ~40 % (derived);
* battery limits: 2.5 kW charge (0.83 C) and 4 kW discharge (1.33 C) on 3 kWh, 95 % each way
  (~90 % round trip) — assumed, within what space Li-ion cells allow (charge ≤ 1 C);
* radiator: 8 m² one side, ε = 0.9 (σεT⁴ gives ~376 W/m² at 20 °C, 555 at 50 °C), absorbing
  ~60 W/m² of Earth infrared: full load settles near 30 °C, nodes ~25 K above it (derived);
  heat capacities and conductances are derived in thermal.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from common.dictionary.apps.sim import MAX_NODES, NODE_SENSORS
from common.orbits import OrbitSample
from flight.sim.models.nodes import Nodes, Upset
from flight.sim.models.power import Battery, PowerSystem, SolarArray
from flight.sim.models.thermal import ThermalModel

#: Each node slot's sensor names, and its part in the thermal model (made once).
_NODE_NAMES = tuple((*names, f"node{i}") for i, names in enumerate(NODE_SENSORS))


@dataclass(frozen=True)
class HardwareConfig:
    """The hardware of a satellite (every field may be overridden in the fleet configuration)."""

    nodes: int = 4
    node_busy_w: float = 700.0
    node_idle_w: float = 150.0
    platform_w: float = 300.0
    heater_w: float = 150.0
    heater_on_below_c: float = 5.0
    heater_off_above_c: float = 10.0
    array_area_m2: float = 12.0
    cell_efficiency: float = 0.30
    packing_factor: float = 0.85
    battery_capacity_wh: float = 3000.0
    battery_strings: int = 8
    initial_soc: float = 0.8
    max_charge_w: float = 2500.0
    max_discharge_w: float = 4000.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    radiator_area_m2: float = 8.0
    emissivity: float = 0.9
    louver_closed: float = 0.15
    earth_ir_w_m2: float = 60.0
    initial_temp_c: float = 20.0
    upsets_per_node_day: float = 0.15
    saa_multiplier: float = 50.0

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise ValueError(f"hardware.nodes must be 1..{MAX_NODES}, not {self.nodes}")
        if not 0.0 <= self.initial_soc <= 1.0:
            raise ValueError(f"hardware.initial_soc must be within 0..1, not {self.initial_soc}")


class SatelliteModel:
    """Power, thermal and compute of one satellite, stepped on simulated time."""

    def __init__(self, config: HardwareConfig, rng: random.Random) -> None:
        self.config = config
        self.power = PowerSystem(
            SolarArray(config.array_area_m2, config.cell_efficiency, config.packing_factor),
            Battery(config.battery_capacity_wh, config.initial_soc, config.battery_strings, 0,
                    config.max_charge_w, config.max_discharge_w, config.charge_efficiency,
                    config.discharge_efficiency),
        )
        self.thermal = ThermalModel(config.nodes, config.radiator_area_m2, config.emissivity,
                                    config.earth_ir_w_m2, initial_c=config.initial_temp_c,
                                    louver_closed=config.louver_closed)
        self.nodes = Nodes(config.nodes, config.node_busy_w, config.node_idle_w,
                           config.upsets_per_node_day, config.saa_multiplier, rng)
        self.heater_command: bool | None = None  # None: the thermostat decides
        self.heater_on = False

    # --- actuators and faults -------------------------------------------------------------------

    def set_node(self, index: int, state: str) -> None:
        """Switch a node (indices beyond the fitted nodes are ignored)."""
        if 0 <= index < self.config.nodes:
            self.nodes.set(index, state)

    def set_heater(self, on: bool | None) -> None:
        """Force the heater on or off (None gives it back to its thermostat)."""
        self.heater_command = on

    def inject_upset(self, index: int) -> None:
        """A single-event upset on a node, now."""
        if 0 <= index < self.config.nodes:
            self.nodes.upset(index)

    def fail_battery_strings(self, count: int) -> int:
        """Lose battery strings; return how many have failed in all."""
        return self.power.battery.fail_strings(count)

    def degrade_radiator(self, factor: float) -> None:
        """Scale the radiator's emissivity (1 is as new)."""
        self.thermal.efficiency = factor

    # --- time -----------------------------------------------------------------------------------

    def loads(self) -> tuple[list[float], float]:
        """(power of each node, platform power including the heater)."""
        nodes = [self.nodes.power_w(i) for i in range(self.config.nodes)]
        return nodes, self.config.platform_w + (self.config.heater_w if self.heater_on else 0.0)

    def step(self, dt_s: float, orbit: OrbitSample) -> list[Upset]:
        """Advance ``dt_s`` seconds at the place and light of ``orbit``."""
        bus_c = self.thermal.bus_k - 273.15
        if self.heater_command is not None:
            self.heater_on = self.heater_command
        elif bus_c < self.config.heater_on_below_c:
            self.heater_on = True
        elif bus_c > self.config.heater_off_above_c:
            self.heater_on = False
        node_w, platform_w = self.loads()
        demanded = sum(node_w) + platform_w
        solar = self.power.array.power_w(orbit.sunlit, orbit.sun_cosine)
        step = self.power.step(dt_s, solar, demanded)
        served = step.served_w / demanded if demanded > 0 else 1.0
        self.thermal.step(dt_s, [w * served for w in node_w], platform_w * served, step.loss_w)
        return self.nodes.step(dt_s, orbit.in_saa)

    # --- sensors --------------------------------------------------------------------------------

    def readings(self, orbit: OrbitSample) -> dict[str, Any]:
        """Every sensor reading, by dictionary parameter name."""
        battery = self.power.battery
        last = self.power.last
        node_w, platform_w = self.loads()
        temps = self.thermal.celsius()
        voltage = battery.voltage()
        values: dict[str, Any] = {
            "ORBIT.LATITUDE": orbit.latitude_deg, "ORBIT.LONGITUDE": orbit.longitude_deg,
            "ORBIT.ALTITUDE": orbit.altitude_km, "ORBIT.SUNLIT": orbit.sunlit,
            "ORBIT.BETA": orbit.beta_deg, "ORBIT.IN_SAA": orbit.in_saa,
            "EPS.BATTERY_SOC": 100.0 * battery.soc, "EPS.BATTERY_VOLTAGE": voltage,
            "EPS.BATTERY_CURRENT": last.battery_w / voltage,
            "EPS.BATTERY_ENERGY": battery.energy_wh, "EPS.SOLAR_POWER": last.solar_w,
            "EPS.LOAD_POWER": last.served_w, "EPS.PLATFORM_POWER": platform_w,
            "EPS.COMPUTE_POWER": sum(node_w), "EPS.SHED_POWER": last.shed_w,
            "EPS.CELLS_FAILED": battery.failed,
            "THERMAL.RADIATOR_TEMP": temps["radiator"], "THERMAL.BUS_TEMP": temps["bus"],
            "THERMAL.BATTERY_TEMP": temps["battery"], "THERMAL.HEATER_ON": self.heater_on,
            "THERMAL.RADIATOR_EFFICIENCY": self.thermal.efficiency,
            "NODES.COUNT": self.config.nodes, "NODES.UPSETS": self.nodes.upsets,
        }
        for index, (state, temp, power, part) in enumerate(_NODE_NAMES):
            fitted = index < self.config.nodes
            values[state] = self.nodes.states[index] if fitted else "OFF"
            values[temp] = temps[part] if fitted else temps["radiator"]
            values[power] = node_w[index] if fitted else 0.0
        return values
