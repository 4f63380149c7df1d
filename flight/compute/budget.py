"""The compute power budget, from the hardware's readings: what the nodes may draw now.

Three terms, and the least of them is the budget (nothing at all under a shed):

* **cap** — ``POWER_CAP`` (operators' SET_POWER_CAP);
* **power** — the supply less the platform's load. The supply is the larger of the array's
  output less what the battery needs to recharge, and the battery's *share*. The share is
  ``BATTERY_SHARE_W`` with the battery at or above ``BATTERY_FULL_SHARE_PCT``, falling
  linearly to nothing at ``BATTERY_RESERVE_PCT``; the recharge is the mirror image, from
  nothing up to ``RECHARGE_W`` at the reserve. So in sunlight compute runs on the array and
  leaves the battery alone (a weak or degraded array genuinely shrinks the budget), in eclipse
  — or behind an array weaker than the share — it runs on the battery, within the share, and a
  battery near its reserve first gets its charge back;
* **thermal** — the cap, tapered linearly to nothing over ``RADIATOR_TAPER_K`` below
  ``RADIATOR_LIMIT_C``: the radiator rejects all the heat compute makes, and one that is
  nearly too hot can take no more.

Without fresh power readings (none yet, or none for ``STALE_S`` — and at high simulation rates
for ``STALE_WALL_S`` of wall time, so that a busy machine stalling the hardware's process for
a moment is not taken for a silent power system) the budget is nothing: compute does not guess.
Each term is in housekeeping, with the one that limits, so that an operator can always say why
the nodes do what they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Simulated seconds after which power readings no longer count...
STALE_S = 120.0
#: ...but never fewer than this many wall seconds' worth.
STALE_WALL_S = 5.0


@dataclass
class Readings:
    """What the compute manager last heard from the hardware (``None``: never)."""

    solar_w: float | None = None
    platform_w: float | None = None
    soc_pct: float | None = None
    radiator_c: float | None = None
    eps_time: float | None = None

    def update(self, values: dict[str, Any], now: float) -> None:
        """Take the readings of a sensor packet (any structure; absent names are kept)."""
        if "EPS.SOLAR_POWER" in values:
            self.solar_w = float(values["EPS.SOLAR_POWER"])
            self.platform_w = float(values["EPS.PLATFORM_POWER"])
            self.soc_pct = float(values["EPS.BATTERY_SOC"])
            self.eps_time = now
        if "THERMAL.RADIATOR_TEMP" in values:
            self.radiator_c = float(values["THERMAL.RADIATOR_TEMP"])


@dataclass(frozen=True)
class Policy:
    """The budget's settings (the compute manager's onboard parameters)."""

    cap_w: float
    battery_share_w: float = 1700.0
    reserve_pct: float = 45.0
    full_share_pct: float = 60.0
    recharge_w: float = 500.0
    radiator_limit_c: float = 70.0
    radiator_taper_k: float = 15.0
    stale_s: float = STALE_S

    @classmethod
    def from_params(cls, params: dict[str, float], cap_w: float, rate: float = 1.0) -> Policy:
        """From the app's onboard parameters, at clock ``rate``."""
        return cls(cap_w, params["BATTERY_SHARE_W"], params["BATTERY_RESERVE_PCT"],
                   params["BATTERY_FULL_SHARE_PCT"], params["RECHARGE_W"],
                   params["RADIATOR_LIMIT_C"], params["RADIATOR_TAPER_K"],
                   max(STALE_S, rate * STALE_WALL_S))


@dataclass(frozen=True)
class Budget:
    """The budget and its terms, watts."""

    watts: float
    limit: str
    power_w: float
    thermal_w: float
    share_w: float


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    """0 at or below ``zero_at``, 1 at or above ``one_at``, linear between."""
    if one_at <= zero_at:
        return 1.0 if value >= one_at else 0.0
    return min(1.0, max(0.0, (value - zero_at) / (one_at - zero_at)))


def battery_fraction(soc_pct: float, policy: Policy) -> float:
    """How much of its share the battery gives at ``soc_pct`` (0 at the reserve, 1 at full)."""
    return _ramp(soc_pct, policy.reserve_pct, policy.full_share_pct)


def budget(readings: Readings, policy: Policy, shed_level: int, now: float) -> Budget:
    """The compute budget now (see the module's description)."""
    fresh = readings.eps_time is not None and now - readings.eps_time <= policy.stale_s
    if not fresh or readings.solar_w is None or readings.platform_w is None \
            or readings.soc_pct is None:
        return Budget(0.0, "NO_READINGS", 0.0, 0.0, 0.0)
    fraction = battery_fraction(readings.soc_pct, policy)
    share = policy.battery_share_w * fraction
    recharge = policy.recharge_w * (1.0 - fraction)
    supply = max(readings.solar_w - recharge, share)
    power = max(0.0, supply - readings.platform_w)
    thermal = policy.cap_w
    if readings.radiator_c is not None:
        thermal = policy.cap_w * _ramp(policy.radiator_limit_c - readings.radiator_c, 0.0,
                                       policy.radiator_taper_k)
    if shed_level > 0:
        return Budget(0.0, "SHED", power, thermal, share)
    terms = {"CAP": max(0.0, policy.cap_w), "POWER": power, "THERMAL": thermal}
    limit = min(terms, key=lambda name: terms[name])
    return Budget(terms[limit], limit, power, thermal, share)
