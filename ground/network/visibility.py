"""Line-of-sight geometry between satellites, and the windows in which a link can close.

A link between two spacecraft closes while the straight line between them clears the Earth by
a grazing margin (the atmosphere's lower layers bend and absorb the beam) and, for
inter-satellite links, while they are within the terminal's range. Positions come sampled on a
time grid; the edges of a window are found by linear interpolation of the margin between
samples (the margin is smooth, so a 20 s grid places an edge within a second or so).

>>> import numpy as np
>>> leo = np.array([[7128.0, 0.0, 0.0]])          # over the Earth, on the relay's side...
>>> float(clearance_km(leo, np.array([42164.0, 0.0, 0.0]), 100.0)[0]) > 0
True
>>> float(clearance_km(-leo, np.array([42164.0, 0.0, 0.0]), 100.0)[0]) > 0  # ...and behind it
False
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.orbits import R_EARTH_KM

#: Lowest altitude, km, at which a link's line of sight may pass (default).
GRAZING_MARGIN_KM = 100.0


@dataclass(frozen=True)
class Window:
    """One span during which a link can close, with the mean distance across it.

    ``open_start`` / ``open_end`` say that the window was already open at the first sample or
    still open at the last: its true edge lies outside the sampled span."""

    start: float
    end: float
    mean_range_km: float
    open_start: bool = False
    open_end: bool = False


def clearance_km(a: Any, b: Any, grazing_km: float = GRAZING_MARGIN_KM) -> Any:
    """How far the segment from ``a`` to ``b`` (rows of positions, km) passes above the
    grazing altitude: negative when the Earth (or its atmosphere) is in the way."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.broadcast_to(np.asarray(b, dtype=float), a.shape)
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.clip(-np.einsum("ij,ij->i", a, d) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = a + t[:, None] * d
    return np.linalg.norm(closest, axis=1) - (R_EARTH_KM + grazing_km)


def range_km(a: Any, b: Any) -> Any:
    """Distance between rows of positions, km."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    return np.linalg.norm(np.broadcast_to(np.asarray(b, dtype=float), a.shape) - a, axis=1)


def windows(times: Any, margin: Any, distance: Any) -> list[Window]:
    """Spans where ``margin`` ≥ 0 over the sampled ``times`` (edges interpolated), each with
    the mean of ``distance`` over the samples inside it."""
    times = np.asarray(times, dtype=float)
    margin = np.asarray(margin, dtype=float)
    distance = np.asarray(distance, dtype=float)
    up = margin >= 0
    if not up.any():
        return []
    out: list[Window] = []
    changes = np.flatnonzero(np.diff(up.astype(np.int8))) + 1
    edges = [0, *changes.tolist(), len(times)]
    for first, stop in itertools.pairwise(edges):
        if not up[first]:
            continue
        last = stop - 1
        start = times[first] if first == 0 else _crossing(times, margin, first - 1)
        end = times[last] if stop == len(times) else _crossing(times, margin, last)
        out.append(Window(float(start), float(end), float(distance[first:stop].mean()),
                          open_start=first == 0, open_end=stop == len(times)))
    return out


def _crossing(times: Any, margin: Any, i: int) -> float:
    """Where the margin crosses zero between samples ``i`` and ``i + 1``."""
    m0, m1 = margin[i], margin[i + 1]
    fraction = m0 / (m0 - m1) if m0 != m1 else 0.5
    return float(times[i] + (times[i + 1] - times[i]) * fraction)


def elevation_deg(observer_km: Any, target_km: Any) -> Any:
    """Elevation of ``target`` above the plane normal to ``observer``'s radius (its local
    horizontal), degrees: how a zenith-facing antenna on the observer sees it."""
    observer = np.atleast_2d(np.asarray(observer_km, dtype=float))
    d = np.broadcast_to(np.asarray(target_km, dtype=float), observer.shape) - observer
    sine = np.einsum("ij,ij->i", d, observer) / (
        np.linalg.norm(d, axis=1) * np.linalg.norm(observer, axis=1))
    return np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0)))


def relay_windows(times: Any, leo_km: Any, relay_km: Any,
                  grazing_km: float = GRAZING_MARGIN_KM,
                  min_elevation_deg: float = -90.0) -> list[Window]:
    """When a low-orbit satellite (positions ``leo_km`` at ``times``) sees a relay: in sight
    and, for its relay antenna, no lower than ``min_elevation_deg`` below its horizontal."""
    distance = range_km(leo_km, relay_km)
    pointing = distance * np.sin(np.radians(elevation_deg(leo_km, relay_km) - min_elevation_deg))
    margin = np.minimum(clearance_km(leo_km, relay_km, grazing_km), pointing)
    return windows(times, margin, distance)


def isl_windows(times: Any, a_km: Any, b_km: Any, max_range_km: float,
                grazing_km: float = GRAZING_MARGIN_KM) -> list[Window]:
    """When two satellites can close an inter-satellite link: in sight and in range."""
    distance = range_km(a_km, b_km)
    margin = np.minimum(clearance_km(a_km, b_km, grazing_km), max_range_km - distance)
    return windows(times, margin, distance)
