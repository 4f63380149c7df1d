"""The space network's parameters, with defaults from real figures.

Direct links are a ground station's S-band uplink and X-band downlink. Relays and
inter-satellite links (ISLs) join them when configured: ``relays = ["tianlian"]`` adds three
geostationary relays, and ISLs close between in-plane neighbours (``isl = "in-plane"``, the
default) whenever the geometry allows (in sight, clear of the atmosphere, within range).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from common.ranges import FRACTION, NOT_NEGATIVE, POSITIVE, Number, Rule, problem, rules_for

ISL_TOPOLOGIES = ("none", "in-plane", "cross-plane")


@dataclass(frozen=True)
class LinkConfig:
    """Every link's characteristics (both directions)."""

    #: S-band telecommand uplink: 2–64 kbps is typical TT&C practice.
    uplink_bps: float = 64_000.0
    #: X-band downlink: ~280 Mbps per stream (Sentinel-2).
    downlink_bps: float = 280e6
    #: Probability that a packet is lost, per direction.
    uplink_loss: float = 0.0
    downlink_loss: float = 0.0
    #: Probability that a packet arrives with a flipped bit (its CRC then fails).
    uplink_corruption: float = 0.0
    downlink_corruption: float = 0.0
    #: Bytes a direction may hold waiting for the radio before it drops.
    uplink_backlog_bytes: int = 1 << 20
    downlink_backlog_bytes: int = 256 << 20
    #: How far ahead (simulated hours) visibility windows are computed at a time.
    horizon_h: float = 6.0
    seed: int = 0
    #: Relay satellites: names (TL-1), presets (tianlian) or {name, longitude_deg, terminal}.
    relays: tuple[Any, ...] = ()
    #: Forward (ground → relay → satellite) rate: TDRS S-band single access, up to 300 kbps.
    relay_forward_bps: float = 300e3
    #: Return (satellite → relay → ground) rate: TDRS Ka-band return, 300–800 Mbps.
    relay_return_bps: float = 300e6
    relay_loss: float = 0.0
    #: Lowest a relay may be seen from a satellite's relay antenna, degrees below (negative)
    #: its local horizontal. With −10° one relay covers ~50 % of a 750 km orbit and two ~80 %,
    #: close to the public Tianlian figures (~50 %, ~85 %); the antenna's field is assumed.
    relay_min_elevation_deg: float = -10.0
    #: Seconds a relay's antenna takes to acquire a satellite that comes into view (assumed).
    relay_acquisition_s: float = 10.0
    #: Which satellites may close inter-satellite links: none, in-plane neighbours, or
    #: in-plane and the nearest satellite of each neighbouring plane.
    isl: str = "in-plane"
    #: Laser ISL rate: up to 100 Gbps reported (Three-Body constellation); 10 Gbps assumed.
    isl_bps: float = 10e9
    isl_loss: float = 0.0
    #: Longest ISL, km (assumed for a small laser terminal).
    isl_max_range_km: float = 5000.0
    #: Pointing, acquisition and tracking before an ISL carries data: ~15 s (operator figures).
    isl_acquisition_s: float = 15.0
    #: Lowest altitude a line of sight may graze, km (the lower atmosphere refracts it).
    grazing_margin_km: float = 100.0
    #: Bytes a node (satellite or relay) stores for forwarding while its next hop is not up.
    store_bytes: int = 16 << 20
    #: Simulated seconds a stored frame may wait for its next hop before it is dropped.
    store_max_s: float = 6 * 3600.0

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any], seed: int = 0) -> LinkConfig:
        """Defaults with ``overrides`` applied; a bad setting raises ValueError naming it (all
        of them, joined by "; ")."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"link: unknown setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        values = {"seed": seed, **overrides}
        problems = [found for name, value in values.items() if name in _RULES
                    and (found := problem(f"link.{name}", _RULES[name], value))]
        if "relays" in values:
            if isinstance(values["relays"], list | tuple):
                values["relays"] = tuple(values["relays"])
                from ground.network.relays import relays

                try:
                    relays(values["relays"])  # names and tables are checked now
                except ValueError as exc:
                    problems.append(f"link.relays: {exc}")
            else:
                problems.append(f"link.relays must be a list, not {values['relays']!r}")
        if values.get("isl", "in-plane") not in ISL_TOPOLOGIES:
            problems.append(f"link.isl must be one of {', '.join(ISL_TOPOLOGIES)}, "
                            f"not {values['isl']!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**values)


#: Each numeric setting's range; a number not listed may be any finite number of its type.
_RANGES: dict[str, Rule] = {
    **dict.fromkeys(("uplink_loss", "downlink_loss", "uplink_corruption", "downlink_corruption",
                     "relay_loss", "isl_loss"), FRACTION),
    **dict.fromkeys(("uplink_bps", "downlink_bps", "horizon_h", "relay_forward_bps",
                     "relay_return_bps", "isl_bps", "isl_max_range_km", "store_max_s"),
                    POSITIVE),
    # Byte counts may be written as floats (TOML has no exponent for integers: 1e9).
    "store_bytes": POSITIVE,
    **dict.fromkeys(("relay_acquisition_s", "isl_acquisition_s", "grazing_margin_km",
                     "uplink_backlog_bytes", "downlink_backlog_bytes"), NOT_NEGATIVE),
    "relay_min_elevation_deg": Number(float, -90.0, 90.0),
}

#: The rule of each numeric setting.
_RULES = rules_for(LinkConfig, _RANGES)
