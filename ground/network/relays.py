"""Geostationary data-relay satellites and their ground terminals.

The default constellation is three relays at the longitudes reported for China's Tianlian
satellites (near 77° E, 177° E and 17° E; public Tianlian descriptions): one such relay covers
about half of a low orbit, two about 85 %. Each relay is a bent pipe between the satellites it
sees and its ground terminal, which is always in view (a geostationary satellite does not move
in the terminal's sky) and on the ground network with ground control.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from common.orbits import R_EARTH_KM
from ground.passes import STATIONS, Station

#: Radius of the geostationary orbit, km (42,164 km from the Earth's centre).
GEO_RADIUS_KM = 42_164.0


@dataclass(frozen=True)
class Relay:
    """A geostationary relay: where it hangs and where its ground terminal is."""

    name: str
    longitude_deg: float
    terminal: Station

    def position_km(self) -> tuple[float, float, float]:
        """Earth-fixed (ITRS) position, km."""
        lon = math.radians(self.longitude_deg)
        return (GEO_RADIUS_KM * math.cos(lon), GEO_RADIUS_KM * math.sin(lon), 0.0)

    def terminal_range_km(self) -> float:
        """Distance from the ground terminal to the relay (spherical Earth)."""
        lat = math.radians(self.terminal.latitude_deg)
        lon = math.radians(self.terminal.longitude_deg)
        r = R_EARTH_KM + self.terminal.altitude_m / 1000.0
        site = (r * math.cos(lat) * math.cos(lon), r * math.cos(lat) * math.sin(lon),
                r * math.sin(lat))
        return math.dist(site, self.position_km())


RELAYS: dict[str, Relay] = {
    relay.name: relay
    for relay in (
        Relay("TL-1", 77.0, STATIONS["KASHGAR"]),
        Relay("TL-2", 177.0, STATIONS["JIAMUSI"]),
        Relay("TL-3", 17.0, STATIONS["KASHGAR"]),
    )
}
#: Named sets of relays.
PRESETS = {"tianlian": ("TL-1", "TL-2", "TL-3")}


def relays(specs: Iterable[Any]) -> list[Relay]:
    """Relays from names (``TL-1``), preset names (``tianlian``) or tables
    (``{name, longitude_deg, terminal}``, the terminal a station name, default Kashgar)."""
    out: list[Relay] = []
    for spec in specs:
        if isinstance(spec, str):
            key = spec.strip()
            if key.lower() in PRESETS:
                out += [RELAYS[name] for name in PRESETS[key.lower()]]
            elif key.upper() in RELAYS:
                out.append(RELAYS[key.upper()])
            else:
                known = ", ".join([*PRESETS, *RELAYS])
                raise ValueError(f"unknown relay {spec!r}; known: {known}, or a table "
                                 "{name, longitude_deg, terminal}")
        elif isinstance(spec, dict):
            unknown = sorted(set(spec) - {"name", "longitude_deg", "terminal"})
            if unknown or "name" not in spec or "longitude_deg" not in spec:
                raise ValueError(f"a relay table needs name and longitude_deg (and may name a "
                                 f"terminal station), not {spec!r}")
            terminal = str(spec.get("terminal", "KASHGAR")).upper()
            if terminal not in STATIONS:
                raise ValueError(f"relay {spec['name']}: unknown terminal station {terminal!r}")
            longitude = float(spec["longitude_deg"])
            if not -180.0 <= longitude <= 360.0:
                raise ValueError(f"relay {spec['name']}: longitude_deg {longitude} is out of "
                                 "range")
            out.append(Relay(str(spec["name"]), longitude, STATIONS[terminal]))
        else:
            raise ValueError(f"a relay is a name or a table, not {spec!r}")
    names = [relay.name for relay in out]
    if len(set(names)) != len(names):
        raise ValueError(f"relay names repeat: {names}")
    clash = sorted(set(names) & set(STATIONS))
    if clash:
        raise ValueError(f"relay names must differ from station names: {clash}")
    return out
