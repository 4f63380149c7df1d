"""Electrical power: a sun-tracking solar array, a Li-ion battery, and the bus between them.

Energy is accounted exactly: over any span, solar energy in equals load served, plus solar
curtailed (battery full or at its charge limit), plus conversion losses, plus the change of
energy stored. Load the battery cannot carry (empty, or beyond its discharge limit) is shed and
counted separately: it was demanded, not served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Total solar irradiance at 1 AU (NOAA/SORCE), W/m².
SOLAR_CONSTANT_W_M2 = 1361.0
#: Li-ion cells in series: 8 × 3.0–4.2 V gives a 24–33.6 V bus.
CELLS_IN_SERIES = 8


@dataclass
class SolarArray:
    """Array area, cell efficiency (~30 % triple junction at AM0), packing and wear."""

    area_m2: float = 12.0
    efficiency: float = 0.30
    packing: float = 0.85
    degradation: float = 0.0

    def power_w(self, sunlit: bool, sun_cosine: float = 1.0) -> float:
        """Electrical power delivered."""
        if not sunlit:
            return 0.0
        return (SOLAR_CONSTANT_W_M2 * self.area_m2 * self.efficiency * self.packing
                * max(0.0, sun_cosine) * (1.0 - self.degradation))


@dataclass
class Battery:
    """A Li-ion battery of parallel strings; failed strings take their share with them."""

    capacity_wh: float = 3000.0
    soc: float = 0.8
    strings: int = 8
    failed: int = 0
    max_charge_w: float = 2500.0
    max_discharge_w: float = 4000.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95

    @property
    def healthy(self) -> float:
        """Share of the strings still working."""
        return max(0.0, (self.strings - self.failed) / self.strings)

    @property
    def usable_wh(self) -> float:
        """Capacity of the working strings."""
        return self.capacity_wh * self.healthy

    @property
    def energy_wh(self) -> float:
        """Energy stored now."""
        return self.soc * self.usable_wh

    def voltage(self) -> float:
        """Open-circuit voltage from the state of charge (3.0–4.2 V per cell)."""
        return CELLS_IN_SERIES * (3.0 + 1.2 * self.soc)

    def fail_strings(self, count: int) -> int:
        """Lose ``count`` strings, and the charge they held; return strings failed so far.

        The remaining strings keep their state of charge, so capacity and energy drop together.
        """
        self.failed = min(self.strings, self.failed + count)
        return self.failed


@dataclass
class PowerTotals:
    """Cumulative energy flows, watt-hours."""

    solar_wh: float = 0.0
    demanded_wh: float = 0.0
    served_wh: float = 0.0
    curtailed_wh: float = 0.0
    shed_wh: float = 0.0
    loss_wh: float = 0.0


@dataclass
class PowerStep:
    """What happened over one step (watts, averaged)."""

    solar_w: float
    load_w: float
    served_w: float
    battery_w: float
    curtailed_w: float
    shed_w: float
    loss_w: float


@dataclass
class PowerSystem:
    """Array, battery and the loads between them."""

    array: SolarArray = field(default_factory=SolarArray)
    battery: Battery = field(default_factory=Battery)
    totals: PowerTotals = field(default_factory=PowerTotals)
    last: PowerStep = field(default_factory=lambda: PowerStep(0, 0, 0, 0, 0, 0, 0))

    def step(self, dt_s: float, solar_w: float, load_w: float) -> PowerStep:
        """Advance ``dt_s`` seconds with ``solar_w`` available and ``load_w`` demanded."""
        battery = self.battery
        hours = dt_s / 3600.0
        net = solar_w - load_w
        curtailed = shed = loss = 0.0
        if net >= 0:
            room_wh = (1.0 - battery.soc) * battery.usable_wh
            limit = battery.max_charge_w * battery.healthy
            accept = min(net, limit, room_wh / hours / battery.charge_efficiency
                         if hours > 0 else 0.0)
            stored = accept * battery.charge_efficiency
            loss = accept - stored
            curtailed = net - accept
            battery_w = accept
            delta_wh = stored * hours
        else:
            deficit = -net
            available_wh = battery.soc * battery.usable_wh
            limit = battery.max_discharge_w * battery.healthy
            out = min(deficit, limit, available_wh / hours * battery.discharge_efficiency
                      if hours > 0 else 0.0)
            drawn = out / battery.discharge_efficiency
            loss = drawn - out
            shed = deficit - out
            battery_w = -out
            delta_wh = -drawn * hours
        if battery.usable_wh > 0:
            battery.soc = min(1.0, max(0.0, battery.soc + delta_wh / battery.usable_wh))
        served = load_w - shed
        totals = self.totals
        totals.solar_wh += solar_w * hours
        totals.demanded_wh += load_w * hours
        totals.served_wh += served * hours
        totals.curtailed_wh += curtailed * hours
        totals.shed_wh += shed * hours
        totals.loss_wh += loss * hours
        self.last = PowerStep(solar_w, load_w, served, battery_w, curtailed, shed, loss)
        return self.last
