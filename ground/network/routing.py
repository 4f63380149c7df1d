"""Routing over the contact plan: the path that arrives earliest, now or as soon as it can.

Contact-graph routing in its simplest sound form: a Dijkstra search over nodes in which the
cost of a node is the earliest time data can be there. Leaving a node over a contact costs any
wait until the contact starts (store-and-forward) plus the light time; a contact that would
end before the data arrives (with ``margin_s`` to spare) cannot be used, nor one that starts
more than ``max_wait_s`` later (``first_wait_s`` at the source: 0 asks for a route that leaves
now). The ground is an end of a route, never a way through.

Routes are cached per query until the plan changes or one of its contacts starts or ends.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from ground.network.plan import GROUND, ISL, RELAY, STATION, Contact, ContactPlan


@dataclass(frozen=True)
class Hop:
    """One contact of a route, with when the data leaves and arrives."""

    contact: Contact
    depart: float
    arrive: float


@dataclass(frozen=True)
class Route:
    """A path through the network, hop by hop."""

    hops: tuple[Hop, ...]

    @property
    def departure(self) -> float:
        """When the first hop leaves."""
        return self.hops[0].depart

    @property
    def arrival(self) -> float:
        """When the last hop arrives."""
        return self.hops[-1].arrive

    @property
    def path(self) -> list[str]:
        """The way taken, as names: the station at the ground end of a pass, the relays and
        satellites in between (``["KASHGAR", "SAT-01", "SAT-02"]``, ``["SAT-03", "TL-1"]``)."""
        def name(node: str, contact: Contact) -> str:
            return contact.via if node == GROUND and contact.kind == STATION else node

        names = [name(h.contact.frm, h.contact) for h in self.hops]
        names.append(name(self.hops[-1].contact.to, self.hops[-1].contact))
        return [n for n in names if n != GROUND]

    @property
    def label(self) -> str:
        """The path as one string: ``KASHGAR>SAT-01>SAT-02``."""
        return ">".join(self.path)

    @property
    def kind(self) -> str:
        """``direct``, ``relay``, ``isl`` or ``relay+isl``."""
        kinds = {h.contact.kind for h in self.hops}
        named = [k for k in (RELAY, ISL) if k in kinds]
        return "+".join(named) if named else "direct"


class Router:
    """Earliest-arrival routes over one contact plan, cached."""

    def __init__(self, plan: ContactPlan) -> None:
        self.plan = plan
        self._cache: dict[tuple[str, str, float, float, float],
                          tuple[int, float, float, tuple[Contact, ...] | None]] = {}

    def route(self, src: str, dst: str, t: float, *, margin_s: float = 0.0,
              max_wait_s: float = math.inf, first_wait_s: float | None = None
              ) -> Route | None:
        """The earliest-arrival route from ``src`` at ``t`` to ``dst`` (None if none)."""
        self.plan.ensure(t)
        first = max_wait_s if first_wait_s is None else first_wait_s
        key = (src, dst, margin_s, max_wait_s, first)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self.plan.version and cached[1] <= t < cached[2]:
            contacts = cached[3]
            if contacts is None:
                return None
            route = _timed(contacts, t, margin_s, max_wait_s, first)
            if route is not None:
                return route
        route = self._search(src, dst, t, margin_s, max_wait_s, first)
        contacts = tuple(h.contact for h in route.hops) if route is not None else None
        # The answer holds while no contact starts or ends — nor comes within a wait or a
        # margin of ``t`` — in between.
        offsets = [d for d in {0.0, margin_s, max_wait_s, first} if math.isfinite(d)]
        since = max(self.plan.last_change(t + d) - d for d in offsets)
        until = min(self.plan.next_change(t + d) - d for d in offsets)
        self._cache[key] = (self.plan.version, since, until, contacts)
        return route

    def _search(self, src: str, dst: str, t: float, margin_s: float, max_wait_s: float,
                first_wait_s: float) -> Route | None:
        best = {src: t}
        back: dict[str, tuple[str, Hop]] = {}
        done: set[str] = set()
        heap = [(t, src)]
        while heap:
            arrived, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node == dst:
                break
            if node == GROUND and node != src:
                continue
            for target, contacts in self.plan.links_from(node).items():
                if target in done or (target == GROUND and dst != GROUND):
                    continue
                wait = first_wait_s if node == src else max_wait_s
                hop = _best_hop(contacts, arrived, margin_s, wait)
                if hop is not None and hop.arrive < best.get(target, math.inf):
                    best[target] = hop.arrive
                    back[target] = (node, hop)
                    heapq.heappush(heap, (hop.arrive, target))
        if dst not in back:
            return None
        hops: list[Hop] = []
        node = dst
        while node != src:
            node, hop = back[node]
            hops.append(hop)
        return Route(tuple(reversed(hops)))


def _best_hop(contacts: list[Contact], t: float, margin_s: float,
              max_wait_s: float) -> Hop | None:
    """The contact (of one link, in order of start) that delivers earliest after ``t``."""
    best: Hop | None = None
    for contact in contacts:
        if contact.start > t + max_wait_s:
            break
        if contact.end <= t + margin_s:
            continue
        depart = max(t, contact.start)
        arrive = depart + contact.delay_at(depart)
        if arrive + margin_s > contact.end:
            continue
        if best is None or arrive < best.arrive:
            best = Hop(contact, depart, arrive)
        if contact.start > t:
            break  # later contacts start later still: none can beat this one
    return best


def _timed(contacts: tuple[Contact, ...], t: float, margin_s: float, max_wait_s: float,
           first_wait_s: float) -> Route | None:
    """A cached path timed again from ``t`` (None if it no longer fits)."""
    hops = []
    for contact in contacts:
        if contact.start > t + (max_wait_s if hops else first_wait_s):
            return None
        depart = max(t, contact.start)
        arrive = depart + contact.delay_at(depart)
        if arrive + margin_s > contact.end:
            return None
        hops.append(Hop(contact, depart, arrive))
        t = arrive
    return Route(tuple(hops))
