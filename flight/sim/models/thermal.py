"""A lumped thermal model: compute nodes and the platform conduct to one radiator, which
radiates to space (εσA(T⁴ − T_space⁴)) and absorbs Earth infrared.

Integrated with sub-steps short enough to be stable for any step up to a minute.

Where the defaults come from (masses are ours; material figures are public):

* heat capacities are mass × specific heat, aluminium 897 J/(kg·K) (handbook value), Li-ion
  cells 800–1100 J/(kg·K) (batterydesign.net survey: NCA 830, NMC 1040):
  radiator 20 kJ/K ≈ 22 kg of aluminium, ~2.8 kg/m² over 8 m² (our assumption for a honeycomb
  panel with heat pipes); node 5 kJ/K ≈ 5.6 kg (GPU module, cold plate, heat pipe: assumed);
  platform 50 kJ/K ≈ 56 kg of aluminium-equivalent (the share of a ~1-tonne bus lumped with
  its electronics: assumed); battery 20 kJ/K = the 20 kg pack of satellite.py at ~1 kJ/(kg·K);
* conductances are chosen, not measured: 30 W/K puts a busy 700 W node ~23 K above the
  radiator (a cold plate and loop heat pipe), 40 W/K the 300 W platform ~8 K above it, and
  5 W/K keeps the battery loosely coupled (its own band, as batteries are mounted);
* Earth infrared: global-mean outgoing longwave radiation ≈ 240 W/m² (NASA CERES energy
  budget) times the view factor of a panel edge-on to the Earth, F = (atan(1/√(H²−1)) −
  √(H²−1)/H²)/π with H = 1 + h/R: 0.23 at 700 km, 0.22 at 800 km, so 52–56 W/m² (derived),
  rounded up to 60 W/m² for margin;
* emissivity 0.9: white paint or optical solar reflectors (REFERENCE.md radiator figures);
* louvers over the radiator (bimetal-driven blades, as on many spacecraft radiators): open at
  and above 20 °C, closed at and below 0 °C, where the radiator keeps 15 % of its emissivity,
  linear between (figures assumed, within the 0.1–0.2 closed / open ratios louvers are sold
  with). The radiator is sized for every node busy (~3.1 kW); without them, idle nodes let it
  settle near −26 °C and the battery near −16 °C (derived), with them near 7 °C and above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STEFAN_BOLTZMANN = 5.670374419e-8
KELVIN = 273.15
#: Deep space, K.
T_SPACE_K = 3.0
#: Sub-step, s: well under the shortest time constant (~90 s for the radiator).
SUB_STEP_S = 5.0


@dataclass
class ThermalModel:
    """Temperatures (K) of the radiator, the platform, the battery and each node."""

    nodes: int = 4
    radiator_area_m2: float = 8.0
    emissivity: float = 0.9
    earth_ir_w_m2: float = 60.0
    radiator_capacity_j_k: float = 20_000.0
    node_capacity_j_k: float = 5_000.0
    node_conductance_w_k: float = 30.0
    bus_capacity_j_k: float = 50_000.0
    bus_conductance_w_k: float = 40.0
    battery_capacity_j_k: float = 20_000.0
    battery_conductance_w_k: float = 5.0
    initial_c: float = 20.0
    efficiency: float = 1.0
    louver_closed_c: float = 0.0
    louver_open_c: float = 20.0
    louver_closed: float = 0.15
    radiator_k: float = field(init=False)
    bus_k: float = field(init=False)
    battery_k: float = field(init=False)
    node_k: list[float] = field(init=False)

    def __post_init__(self) -> None:
        start = self.initial_c + KELVIN
        self.radiator_k = self.bus_k = self.battery_k = start
        self.node_k = [start] * self.nodes

    def step(self, dt_s: float, node_w: list[float], bus_w: float, battery_w: float) -> None:
        """Advance ``dt_s`` with the heat each node, the platform and the battery dissipate."""
        remaining = dt_s
        while remaining > 0:
            h = min(SUB_STEP_S, remaining)
            remaining -= h
            emissivity = self.emissivity * self.efficiency * self.louvers()
            to_radiator = 0.0
            for index, power in enumerate(node_w):
                flow = self.node_conductance_w_k * (self.node_k[index] - self.radiator_k)
                self.node_k[index] += h * (power - flow) / self.node_capacity_j_k
                to_radiator += flow
            bus_flow = self.bus_conductance_w_k * (self.bus_k - self.radiator_k)
            battery_flow = self.battery_conductance_w_k * (self.battery_k - self.bus_k)
            self.bus_k += h * (bus_w + battery_flow - bus_flow) / self.bus_capacity_j_k
            self.battery_k += h * (battery_w - battery_flow) / self.battery_capacity_j_k
            to_radiator += bus_flow
            absorbed = self.earth_ir_w_m2 * self.radiator_area_m2 * emissivity
            emitted = emissivity * STEFAN_BOLTZMANN * self.radiator_area_m2 * (
                self.radiator_k**4 - T_SPACE_K**4)
            self.radiator_k += h * (to_radiator + absorbed - emitted) / \
                self.radiator_capacity_j_k

    def louvers(self) -> float:
        """The share of the radiator's emissivity its louvers let through, at its temperature
        now: ``louver_closed`` when cold, 1 when warm."""
        open_share = (self.radiator_k - KELVIN - self.louver_closed_c) / (
            self.louver_open_c - self.louver_closed_c)
        return self.louver_closed + (1.0 - self.louver_closed) * min(1.0, max(0.0, open_share))

    def celsius(self) -> dict[str, float]:
        """Every temperature in °C."""
        return {"radiator": self.radiator_k - KELVIN, "bus": self.bus_k - KELVIN,
                "battery": self.battery_k - KELVIN,
                **{f"node{i}": t - KELVIN for i, t in enumerate(self.node_k)}}
