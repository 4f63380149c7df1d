"""How far away a satellite is during a pass, and the light time that makes.

The slant range within a pass is estimated from an elevation that rises linearly from the mask at
AOS to the maximum at TCA and falls back at LOS: light time is a few milliseconds, and the
estimate is within a fraction of one.
"""

from __future__ import annotations

import math

from common.orbits import R_EARTH_KM
from ground.passes import Pass

LIGHT_KM_S = 299_792.458


def slant_range_km(window: Pass, now: float, mask_deg: float, altitude_km: float) -> float:
    """Estimated station–satellite distance at ``now`` within ``window``."""
    half = max(window.tca - window.aos, window.los - window.tca, 1.0)
    fraction = min(1.0, abs(now - window.tca) / half)
    elevation = math.radians(window.max_elevation_deg
                             - (window.max_elevation_deg - mask_deg) * fraction)
    r = R_EARTH_KM + altitude_km
    return math.sqrt(r**2 - (R_EARTH_KM * math.cos(elevation)) ** 2) \
        - R_EARTH_KM * math.sin(elevation)


def light_time_s(window: Pass, now: float, mask_deg: float, altitude_km: float) -> float:
    """One-way light time at ``now`` within ``window``."""
    return slant_range_km(window, now, mask_deg, altitude_km) / LIGHT_KM_S
