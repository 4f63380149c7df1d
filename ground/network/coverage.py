"""Coverage: how much of a span each satellite can be reached from the ground, and how.

Sampled on a grid over the contact plan: at each instant a satellite is reachable *directly*
(a station sees it), *via relay* (a relay in service sees it), or *via ISL* (a chain of
inter-satellite links leads to a satellite that is reachable directly or via a relay). For
each way, and for all of them together, the minutes reachable and the longest gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ground.network.plan import FEEDER, GROUND, ISL, RELAY, STATION, ContactPlan

WAYS = ("direct", "relay", "isl", "any")


@dataclass(frozen=True)
class Reachability:
    """One satellite's coverage over a span, by way of reaching it (seconds)."""

    satellite: str
    span_s: float
    reachable_s: dict[str, float]
    longest_gap_s: dict[str, float]

    def to_json(self) -> dict[str, object]:
        """Minutes reachable and longest gap, per way."""
        return {"satellite": self.satellite, "span_h": round(self.span_s / 3600, 3),
                **{f"{way}_min": round(self.reachable_s[way] / 60, 1) for way in WAYS},
                **{f"{way}_longest_gap_min": round(self.longest_gap_s[way] / 60, 1)
                   for way in WAYS}}


def reachability(plan: ContactPlan, start: float, end: float,
                 step_s: float = 30.0) -> list[Reachability]:
    """Coverage of every satellite of ``plan`` over [start, end]."""
    plan.ensure(start)
    times = np.arange(start, end, step_s)
    satellites = list(plan.elements)
    index = {name: i for i, name in enumerate(satellites)}
    direct = np.zeros((len(satellites), len(times)), dtype=bool)
    relay = np.zeros_like(direct)
    feeders = {name: np.zeros(len(times), dtype=bool) for name in plan.relays}
    for contact in plan.contacts(FEEDER):
        if contact.frm == GROUND:
            feeders[contact.to] |= _during(times, contact.start, contact.end)
    links: list[tuple[int, int, np.ndarray]] = []
    for contact in plan.contacts():
        up = _during(times, contact.start, contact.end)
        if contact.kind == STATION and contact.frm == GROUND:
            direct[index[contact.to]] |= up
        elif contact.kind == RELAY and contact.frm in plan.relays:
            relay[index[contact.to]] |= up & feeders[contact.frm]
        elif contact.kind == ISL and index[contact.frm] < index[contact.to]:
            links.append((index[contact.frm], index[contact.to], up))
    isl = np.zeros_like(direct)
    if links:
        for k in range(len(times)):
            edges = [(a, b) for a, b, up in links if up[k]]
            if edges:
                isl[:, k] = _through_links(edges, direct[:, k] | relay[:, k], len(satellites))
    out = []
    for name, i in index.items():
        ways = {"direct": direct[i], "relay": relay[i], "isl": isl[i],
                "any": direct[i] | relay[i] | isl[i]}
        out.append(Reachability(
            name, end - start,
            {way: float(mask.sum()) * step_s for way, mask in ways.items()},
            {way: _longest_gap(mask) * step_s for way, mask in ways.items()}))
    return out


def _during(times: np.ndarray, start: float, end: float) -> np.ndarray:
    return (times >= start) & (times < end)


def _through_links(edges: list[tuple[int, int]], gateway: np.ndarray, count: int) -> np.ndarray:
    """Which satellites reach a gateway (a satellite reachable from the ground) over at least
    one inter-satellite link."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    out = np.zeros(count, dtype=bool)
    for start in neighbours:
        seen, frontier = {start}, [start]
        while frontier:
            nxt = []
            for node in frontier:
                for other in neighbours.get(node, []):
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
        out[start] = any(gateway[n] for n in seen if n != start)
    return out


def _longest_gap(mask: np.ndarray) -> int:
    """The longest run of False, in samples."""
    longest = run = 0
    for value in mask:
        run = 0 if value else run + 1
        longest = max(longest, run)
    return longest
