"""Compute nodes: power by state, and single-event upsets.

An upset here is one ECC cannot correct: it stops the node (FAULT) until it is power-cycled
(commanded OFF, then on again). Upsets are a Poisson process per powered node, much more likely
inside the South Atlantic Anomaly.

How the defaults are derived. COTS SRAM in a sun-synchronous LEO sees ~4×10⁻⁷ upsets/bit/day,
most of them in the SAA (Alsat-1 and UoSAT-2 figures, REFERENCE.md). Applied to a node's 80 GB
of HBM (6.9×10¹¹ bits) that is ~2.7×10⁵ raw upsets a day — an upper bound, DRAM being less
sensitive per bit than SRAM — nearly all of them single-bit and corrected by ECC. The rate of
uncorrectable ones is our assumption, not a measurement: 0.15 per node per day (about one a
week, i.e. one raw upset in ~2×10⁶ escaping ECC). The SAA multiplier makes "most in the SAA"
true of our orbit: the SAA box of ``common.orbits`` holds a 750 km dawn-dusk satellite 4.4 % of
the time, and ×50 puts 50·0.044 / (50·0.044 + 0.956) ≈ 70 % of the upsets there (derived).
Idle power is an assumption too: ~20 % of the 700 W busy figure (an idle GPU plus the node's
share of host CPU, memory and network).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

STATES = ("OFF", "IDLE", "BUSY", "FAULT")


@dataclass(frozen=True)
class Upset:
    """A node stopped by a single-event upset."""

    node: int
    in_saa: bool


@dataclass
class Nodes:
    """The compute nodes of one satellite."""

    count: int = 4
    busy_w: float = 700.0
    idle_w: float = 150.0
    #: Uncorrectable upsets per powered node per day outside the SAA...
    upsets_per_day: float = 0.15
    #: ...and how much likelier they are inside it.
    saa_multiplier: float = 50.0
    rng: random.Random = field(default_factory=random.Random)
    states: list[str] = field(init=False)
    upsets: int = 0

    def __post_init__(self) -> None:
        self.states = ["IDLE"] * self.count

    def power_w(self, index: int) -> float:
        """What a node draws now (a faulted node keeps drawing idle power)."""
        state = self.states[index]
        return {"OFF": 0.0, "IDLE": self.idle_w, "BUSY": self.busy_w}.get(state, self.idle_w)

    def set(self, index: int, state: str) -> None:
        """Command a node; a FAULT clears only by switching it OFF first."""
        if state not in ("OFF", "IDLE", "BUSY"):
            raise ValueError(f"node state must be OFF, IDLE or BUSY, not {state!r}")
        if self.states[index] == "FAULT" and state != "OFF":
            return
        self.states[index] = state

    def upset(self, index: int) -> None:
        """Stop a powered node."""
        if self.states[index] != "OFF":
            self.states[index] = "FAULT"
            self.upsets += 1

    def step(self, dt_s: float, in_saa: bool) -> list[Upset]:
        """Draw the upsets of ``dt_s`` seconds."""
        rate = self.upsets_per_day / 86400.0 * (self.saa_multiplier if in_saa else 1.0)
        chance = 1.0 - math.exp(-rate * dt_s)
        found = []
        for index, state in enumerate(self.states):
            if state in ("IDLE", "BUSY") and self.rng.random() < chance:
                self.upset(index)
                found.append(Upset(index, in_saa))
        return found
