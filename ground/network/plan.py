"""The contact plan: every link of the space network as time-bounded contacts, kept ahead of now.

A contact is one direction of one link over one span: the ground (``GROUND``, which stands for
ground control and its terrestrial network) to a satellite through a station's pass, the ground
to a relay through the relay's terminal (always up), a relay to a satellite while the satellite
sees it, or a satellite to a neighbour across an inter-satellite link. Each carries its data
rate and light time. Station passes come from :mod:`ground.contacts`; relay and ISL windows
from positions sampled on a grid (:mod:`ground.network.visibility`), less the time the
terminals take to acquire each other. Outages (a station or a relay out of service) cut every
contact through them for their span.

The plan is computed a horizon ahead and extended as simulated time passes; ``version`` changes
whenever the contacts change, so that callers may cache what they derive from them.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from common.orbits import Elements, itrs_positions_km
from common.radio import GROUND
from ground.contacts import ContactSchedule
from ground.link.config import LinkConfig
from ground.link.geometry import LIGHT_KM_S, light_time_s
from ground.network.relays import Relay, relays
from ground.network.visibility import Window, isl_windows, relay_windows
from ground.passes import Pass, Station

STATION, FEEDER, RELAY, ISL = "station", "feeder", "relay", "isl"
#: Grid of the sampled geometry, simulated seconds.
SAMPLE_STEP_S = 20.0
#: Contacts that ended longer ago than this are forgotten.
KEEP_PAST_S = 3600.0


@dataclass(frozen=True)
class Contact:
    """One direction of one link over one span."""

    frm: str
    to: str
    start: float
    end: float
    kind: str
    #: The station of a pass, the relay of a relay or feeder link, "ISL" for a laser link.
    via: str
    rate_bps: float
    delay_s: float
    #: The station pass (its light time follows the elevation), for station contacts.
    window: Pass | None = None
    mask_deg: float = 0.0
    altitude_km: float = 0.0

    def delay_at(self, t: float) -> float:
        """One-way light time when leaving at ``t``."""
        if self.window is not None:
            return light_time_s(self.window, t, self.mask_deg, self.altitude_km)
        return self.delay_s


def isl_pairs(elements: Iterable[Elements], topology: str) -> list[tuple[str, str]]:
    """Which satellites may link: neighbours in each orbital plane (a ring, in order of
    argument of latitude), and with ``cross-plane`` also the nearest satellite of the next
    plane. Planes are told apart by inclination and node."""
    if topology == "none":
        return []
    planes: dict[tuple[float, float], list[Elements]] = {}
    for e in elements:
        planes.setdefault((round(e.inclination_deg, 1), round(e.raan_deg % 360.0, 1)),
                          []).append(e)
    def phase(e: Elements) -> float:
        return (e.arg_perigee_deg + e.mean_anomaly_deg) % 360.0

    rings = [sorted(members, key=phase) for _, members in sorted(planes.items())]
    pairs: list[tuple[str, str]] = []
    for ring in rings:
        if len(ring) == 2:
            pairs.append((ring[0].name, ring[1].name))
        elif len(ring) > 2:
            pairs += [(ring[i].name, ring[(i + 1) % len(ring)].name) for i in range(len(ring))]
    if topology == "cross-plane" and len(rings) > 1:
        for this, other in itertools.pairwise(rings):
            for e in this:
                nearest = min(other, key=lambda o: abs((phase(o) - phase(e) + 180) % 360 - 180))
                pairs.append((e.name, nearest.name))
    return list(dict.fromkeys(pairs))


class ContactPlan:
    """Every contact of the network from an hour ago to a horizon ahead."""

    def __init__(self, elements: dict[str, Elements], stations: list[Station],
                 config: LinkConfig, horizon_s: float) -> None:
        self.elements = elements
        self.config = config
        self.horizon_s = horizon_s
        self.schedules = {name: ContactSchedule.of(e, stations, horizon_s)
                          for name, e in elements.items()}
        self.masks = {station.name: station.mask_deg for station in stations}
        self.altitude = {name: s.altitude_km() for name, s in self.schedules.items()}
        self.relays: dict[str, Relay] = {r.name: r for r in relays(config.relays)}
        self.pairs = isl_pairs(elements.values(), config.isl)
        self.outages: list[tuple[str, float, float]] = []
        self.version = 0
        self.computed_until = -math.inf
        self._raw: dict[tuple[str, str, str], list[Contact]] = {}
        self._open: set[tuple[str, str, str]] = set()
        self._passes: set[tuple[str, str, int]] = set()
        self._sampled_until: float | None = None
        self._links: dict[str, dict[str, list[Contact]]] = {}
        self._boundaries: list[float] = []
        for relay in self.relays.values():
            delay = relay.terminal_range_km() / LIGHT_KM_S
            self._add(Contact(GROUND, relay.name, -math.inf, math.inf, FEEDER, relay.name,
                              config.relay_forward_bps, delay))
            self._add(Contact(relay.name, GROUND, -math.inf, math.inf, FEEDER, relay.name,
                              config.relay_return_bps, delay))

    # --- keeping ahead of time -------------------------------------------------------------------

    def ensure(self, now: float) -> None:
        """Make sure the plan reaches well past ``now``."""
        if now + 600.0 <= self.computed_until:
            return
        until = math.inf
        for name, schedule in self.schedules.items():
            windows, complete = schedule.known(now)
            until = min(until, complete)
            for window in windows:
                key = (name, window.station, round(window.aos))
                if key not in self._passes:
                    self._passes.add(key)
                    self._add_pass(name, window)
        if self.relays or self.pairs:
            until = min(until, self._sample(now))
        self.computed_until = until
        self._forget(now - KEEP_PAST_S)
        self._reindex()

    def _add_pass(self, satellite: str, window: Pass) -> None:
        mask, altitude = self.masks[window.station], self.altitude[satellite]
        for frm, to, rate in ((GROUND, satellite, self.config.uplink_bps),
                              (satellite, GROUND, self.config.downlink_bps)):
            self._add(Contact(frm, to, window.aos, window.los, STATION, window.station, rate,
                              0.0, window, mask, altitude))

    def _sample(self, now: float) -> float:
        """Relay and ISL windows from sampled positions, up to a horizon past ``now``."""
        step = SAMPLE_STEP_S
        first = self._sampled_until is None
        start = math.floor(now / step) * step if first else self._sampled_until
        assert start is not None
        end = math.ceil((now + self.horizon_s) / step) * step
        if end <= start:
            return start
        times = np.arange(start, end + step / 2, step)
        positions = {name: itrs_positions_km(e, times) for name, e in self.elements.items()}
        cfg = self.config
        for relay in self.relays.values():
            where = np.array(relay.position_km())
            for name, track in positions.items():
                for window in relay_windows(times, track, where, cfg.grazing_margin_km,
                                             cfg.relay_min_elevation_deg):
                    delay = window.mean_range_km / LIGHT_KM_S
                    self._add_window(relay.name, name, RELAY, relay.name, cfg.relay_forward_bps,
                                     delay, window, cfg.relay_acquisition_s, first)
                    self._add_window(name, relay.name, RELAY, relay.name, cfg.relay_return_bps,
                                     delay, window, cfg.relay_acquisition_s, first)
        for a, b in self.pairs:
            for window in isl_windows(times, positions[a], positions[b], cfg.isl_max_range_km,
                                      cfg.grazing_margin_km):
                delay = window.mean_range_km / LIGHT_KM_S
                for frm, to in ((a, b), (b, a)):
                    self._add_window(frm, to, ISL, "ISL", cfg.isl_bps, delay, window,
                                     cfg.isl_acquisition_s, first)
        self._sampled_until = float(times[-1])
        return self._sampled_until

    def _add_window(self, frm: str, to: str, kind: str, via: str, rate: float, delay: float,
                    window: Window, acquisition_s: float, first: bool) -> None:
        key = (frm, to, via)
        known = self._raw.get(key)
        if window.open_start and key in self._open and known:
            # The same window, seen again from the next stretch of samples: lengthen it.
            known[-1] = replace(known[-1], end=window.end)
        else:
            # Terminals need time to find each other, except over links already up at the start.
            start = window.start if (first and window.open_start) else window.start + acquisition_s
            if start < window.end:
                self._add(Contact(frm, to, start, window.end, kind, via, rate, delay))
        if window.open_end:
            self._open.add(key)
        else:
            self._open.discard(key)

    def _add(self, contact: Contact) -> None:
        self._raw.setdefault((contact.frm, contact.to, contact.via), []).append(contact)

    def _forget(self, before: float) -> None:
        for key, contacts in self._raw.items():
            self._raw[key] = [c for c in contacts if c.end >= before]

    # --- outages ---------------------------------------------------------------------------------

    def add_outage(self, name: str, start: float, end: float) -> None:
        """Take a station or relay out of service for [start, end)."""
        self.outages.append((name, start, end))
        self._reindex()

    def _pieces(self, contact: Contact) -> list[Contact]:
        """What is left of a contact once the outages through it are cut out."""
        pieces = [contact]
        for name, start, end in self.outages:
            if name not in (contact.via, contact.frm, contact.to):
                continue
            rest = []
            for piece in pieces:
                if end <= piece.start or start >= piece.end:
                    rest.append(piece)
                    continue
                if piece.start < start:
                    rest.append(replace(piece, end=start))
                again = end + (self._acquisition(piece.kind))
                if again < piece.end:
                    rest.append(replace(piece, start=again))
            pieces = rest
        return pieces

    def _acquisition(self, kind: str) -> float:
        if kind == RELAY:
            return self.config.relay_acquisition_s
        if kind == ISL:
            return self.config.isl_acquisition_s
        return 0.0

    def _reindex(self) -> None:
        links: dict[str, dict[str, list[Contact]]] = {}
        edges: set[float] = set()
        for contacts in self._raw.values():
            for contact in contacts:
                for piece in self._pieces(contact):
                    links.setdefault(piece.frm, {}).setdefault(piece.to, []).append(piece)
                    edges.update(t for t in (piece.start, piece.end) if math.isfinite(t))
        for targets in links.values():
            for contacts in targets.values():
                contacts.sort(key=lambda c: c.start)
        self._links = links
        self._boundaries = sorted(edges)
        self.version += 1

    # --- queries ---------------------------------------------------------------------------------

    def links_from(self, node: str) -> dict[str, list[Contact]]:
        """Contacts leaving ``node``, by the node they reach, in order of start."""
        return self._links.get(node, {})

    def next_change(self, t: float) -> float:
        """The first time after ``t`` at which a contact starts or ends."""
        index = bisect.bisect_right(self._boundaries, t)
        return self._boundaries[index] if index < len(self._boundaries) else math.inf

    def last_change(self, t: float) -> float:
        """The last time at or before ``t`` at which a contact started or ended."""
        index = bisect.bisect_right(self._boundaries, t)
        return self._boundaries[index - 1] if index > 0 else -math.inf

    def contacts(self, kind: str | None = None) -> list[Contact]:
        """Every contact (of one kind), in order of start."""
        out = [c for targets in self._links.values() for contacts in targets.values()
               for c in contacts if kind is None or c.kind == kind]
        return sorted(out, key=lambda c: (c.start, c.frm, c.to))

    def describe(self) -> dict[str, Any]:
        """The shape of the network, for logs and status."""
        return {"relays": list(self.relays), "isl_pairs": [list(p) for p in self.pairs],
                "computed_until": self.computed_until}
