"""The space link's parameters, with defaults from real figures."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class LinkConfig:
    """One ground-station link's characteristics (both directions)."""

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

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any], seed: int = 0) -> LinkConfig:
        """Defaults with ``overrides`` applied; unknown names raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"link: unknown setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        for name in ("uplink_loss", "downlink_loss", "uplink_corruption", "downlink_corruption"):
            value = overrides.get(name, 0.0)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"link.{name} must be a probability, not {value}")
        return cls(**{"seed": seed, **overrides})
