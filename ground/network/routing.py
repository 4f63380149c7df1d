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


class Route:
    """A path through the network, hop by hop: the contacts taken, and when the data leaves
    and arrives at each. The :class:`Hop` objects are made only when asked for: the space link
    re-times a cached route for every batch of frames at every node it passes, and only ever
    looks at the first hop."""

    __slots__ = ("_hops", "arrives", "contacts", "departs")

    def __init__(self, contacts: tuple[Contact, ...], departs: tuple[float, ...],
                 arrives: tuple[float, ...]) -> None:
        self.contacts = contacts
        self.departs = departs
        self.arrives = arrives
        self._hops: tuple[Hop, ...] | None = None

    @classmethod
    def of(cls, hops: list[Hop]) -> Route:
        """The route made of ``hops``."""
        return cls(tuple(h.contact for h in hops), tuple(h.depart for h in hops),
                   tuple(h.arrive for h in hops))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and (self.contacts, self.departs, self.arrives) == (
            other.contacts, other.departs, other.arrives)

    def __hash__(self) -> int:
        return hash((self.contacts, self.departs, self.arrives))

    def __repr__(self) -> str:
        return f"Route({self.label}, {self.departure:.3f} -> {self.arrival:.3f})"

    @property
    def hops(self) -> tuple[Hop, ...]:
        """Every hop, in order."""
        if self._hops is None:
            self._hops = tuple(map(Hop, self.contacts, self.departs, self.arrives))
        return self._hops

    @property
    def first(self) -> Hop:
        """The first hop (without making the others)."""
        return Hop(self.contacts[0], self.departs[0], self.arrives[0])

    @property
    def departure(self) -> float:
        """When the first hop leaves."""
        return self.departs[0]

    @property
    def arrival(self) -> float:
        """When the last hop arrives."""
        return self.arrives[-1]

    @property
    def path(self) -> list[str]:
        """The way taken, as names: the station at the ground end of a pass, the relays and
        satellites in between (``["KASHGAR", "SAT-01", "SAT-02"]``, ``["SAT-03", "TL-1"]``)."""
        def name(node: str, contact: Contact) -> str:
            return contact.via if node == GROUND and contact.kind == STATION else node

        names = [name(c.frm, c) for c in self.contacts]
        names.append(name(self.contacts[-1].to, self.contacts[-1]))
        return [n for n in names if n != GROUND]

    @property
    def label(self) -> str:
        """The path as one string: ``KASHGAR>SAT-01>SAT-02``."""
        return ">".join(self.path)

    @property
    def kind(self) -> str:
        """``direct``, ``relay``, ``isl`` or ``relay+isl``."""
        kinds = {c.kind for c in self.contacts}
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
        if self._holds(key, t):
            contacts = self._cache[key][3]
            if contacts is None:
                return None
            route = _timed(contacts, t, margin_s, max_wait_s, first)
            if route is not None:
                return route
        back = self._explore(src, t, margin_s, max_wait_s, first, dst)
        return self._remember(back, key, t)

    def routes_from(self, src: str, dsts: list[str], t: float, *, margin_s: float = 0.0,
                    max_wait_s: float = math.inf, first_wait_s: float | None = None
                    ) -> dict[str, Route | None]:
        """:meth:`route` from ``src`` to each of ``dsts``, with one search for all of them
        when the cache cannot answer (one search from the ground per contact change, not one
        per satellite: at 100 satellites the difference between keeping up and not)."""
        self.plan.ensure(t)
        first = max_wait_s if first_wait_s is None else first_wait_s
        keys = [(src, dst, margin_s, max_wait_s, first) for dst in dsts]
        if not all(self._holds(key, t) for key in keys):
            back = self._explore(src, t, margin_s, max_wait_s, first, None)
            for key in keys:
                self._remember(back, key, t)
        return {dst: self.route(src, dst, t, margin_s=margin_s, max_wait_s=max_wait_s,
                                first_wait_s=first) for dst in dsts}

    def _holds(self, key: tuple[str, str, float, float, float], t: float) -> bool:
        """True if the cached answer for ``key`` still holds at ``t``."""
        cached = self._cache.get(key)
        return cached is not None and cached[0] == self.plan.version and cached[1] <= t < cached[2]

    def _remember(self, back: dict[str, tuple[str, Hop]], key: tuple[str, str, float, float,
                  float], t: float) -> Route | None:
        """The route a search found for ``key`` at ``t``, cached for as long as it holds: while
        no contact starts or ends — nor comes within a wait or a margin of ``t`` — in between."""
        src, dst, margin_s, max_wait_s, first_wait_s = key
        route = _path(back, src, dst)
        offsets = [d for d in {0.0, margin_s, max_wait_s, first_wait_s} if math.isfinite(d)]
        since = max(self.plan.last_change(t + d) - d for d in offsets)
        until = min(self.plan.next_change(t + d) - d for d in offsets)
        self._cache[key] = (self.plan.version, since, until,
                            route.contacts if route is not None else None)
        return route

    def _explore(self, src: str, t: float, margin_s: float, max_wait_s: float,
                 first_wait_s: float, dst: str | None) -> dict[str, tuple[str, Hop]]:
        """Earliest-arrival search from ``src`` (stopping at ``dst``, if one is given): the
        hop by which each node reached is best reached."""
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
        return back


def _path(back: dict[str, tuple[str, Hop]], src: str, dst: str) -> Route | None:
    """The route to ``dst`` a search from ``src`` found (None if it found none)."""
    if dst not in back:
        return None
    hops: list[Hop] = []
    node = dst
    while node != src:
        node, hop = back[node]
        hops.append(hop)
    return Route.of(hops[::-1])


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
    departs: list[float] = []
    arrives: list[float] = []
    wait = first_wait_s
    for contact in contacts:
        if contact.start > t + wait:
            return None
        depart = t if t > contact.start else contact.start
        arrive = depart + (contact.delay_s if contact.window is None
                           else contact.delay_at(depart))
        if arrive + margin_s > contact.end:
            return None
        departs.append(depart)
        arrives.append(arrive)
        t = arrive
        wait = max_wait_s
    return Route(contacts, tuple(departs), tuple(arrives))
