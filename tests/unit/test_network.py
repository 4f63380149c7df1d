"""The space network's geometry, contact plan, routing and coverage, without processes."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from common.orbits import R_EARTH_KM, Constellation, itrs_positions_km
from ground.link.config import LinkConfig
from ground.network.coverage import reachability
from ground.network.plan import GROUND, ISL, RELAY, STATION, Contact, ContactPlan, isl_pairs
from ground.network.relays import GEO_RADIUS_KM, RELAYS, relays
from ground.network.routing import Router
from ground.network.visibility import relay_windows
from ground.passes import network

EPOCH = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
DAY = 86400.0


def _sees(leo: np.ndarray, geo: np.ndarray, grazing_km: float) -> np.ndarray:
    """Independent line of sight: the angle between the two radius vectors is below the sum
    of the angles at which each one's tangent to the grazing sphere leaves it."""
    r = R_EARTH_KM + grazing_km
    r1, r2 = np.linalg.norm(leo, axis=1), np.linalg.norm(geo)
    angle = np.arccos(np.clip((leo @ geo) / (r1 * r2), -1, 1))
    return angle < np.arccos(r / r1) + np.arccos(r / r2)


def test_a_geo_relay_sees_a_750_km_satellite_except_when_the_earth_is_between() -> None:
    sat = Constellation(EPOCH, per_plane=1).elements()[0]
    times = EPOCH.timestamp() + np.arange(0.0, 6 * 3600, 20.0)
    leo = itrs_positions_km(sat, times)
    geo = np.array(RELAYS["TL-1"].position_km())
    assert math.isclose(np.linalg.norm(geo), GEO_RADIUS_KM)
    found = relay_windows(times, leo, geo, grazing_km=100.0)
    inside = np.zeros(len(times), dtype=bool)
    for window in found:
        inside |= (times >= window.start) & (times <= window.end)
    expected = _sees(leo, geo, 100.0)
    assert expected.any() and not expected.all()  # seen for stretches, hidden for others
    # Agreement everywhere but within one grid step of an edge.
    edges = np.array([t for w in found for t in (w.start, w.end)])
    far = np.array([np.min(np.abs(edges - t)) > 20.0 for t in times])
    assert (inside[far] == expected[far]).all()
    # While seen, the relay is some 36,000–42,000 km away: a light time of ~0.13 s.
    for window in found:
        assert 35_000 < window.mean_range_km < 42_500


def test_behind_the_earth_no_relay_is_seen_and_overhead_it_is() -> None:
    geo = np.array([GEO_RADIUS_KM, 0.0, 0.0])
    r = R_EARTH_KM + 750.0
    times = np.array([0.0, 1.0, 2.0])
    under = np.array([[r, 0.0, 0.0]] * 3)
    behind = np.array([[-r, 0.0, 0.0]] * 3)
    assert relay_windows(times, under, geo)
    assert relay_windows(times, behind, geo) == []


def test_in_plane_neighbours_at_the_configured_spacing_are_in_range() -> None:
    train = Constellation(EPOCH, per_plane=3, slot_spacing_deg=20.0).elements()
    assert isl_pairs(train, "in-plane") == [("SAT-01", "SAT-02"), ("SAT-02", "SAT-03"),
                                            ("SAT-03", "SAT-01")]
    assert isl_pairs(train, "none") == []
    plan = ContactPlan({e.name: e for e in train}, network(["china"]),
                       LinkConfig.from_overrides({"isl": "in-plane"}), 6 * 3600)
    plan.ensure(EPOCH.timestamp())
    isl = {(c.frm, c.to): c for c in plan.contacts(ISL)}
    # Neighbours 20° apart at 750 km: a 2,475 km chord, in range the whole time...
    chord = 2 * (R_EARTH_KM + 750.0) * math.sin(math.radians(10.0))
    link = isl[("SAT-01", "SAT-02")]
    assert link.start <= EPOCH.timestamp() and link.end >= plan.computed_until - 1
    assert link.delay_s == pytest.approx(chord / 299_792.458, rel=0.02)
    # ...while the ends of the train, 40° apart, see each other too but 5,000 km is the limit:
    # spaced 90° apart instead, the Earth is in the way and no link ever closes.
    assert ("SAT-03", "SAT-01") in isl
    spread = Constellation(EPOCH, per_plane=4).elements()
    blocked = ContactPlan({e.name: e for e in spread}, network(["china"]),
                          LinkConfig.from_overrides({"isl": "in-plane"}), 6 * 3600)
    blocked.ensure(EPOCH.timestamp())
    assert blocked.contacts(ISL) == []


def test_cross_plane_links_pair_each_satellite_with_the_nearest_of_the_next_plane() -> None:
    two = Constellation(EPOCH, planes=2, per_plane=2, phasing=0).elements()
    pairs = isl_pairs(two, "cross-plane")
    assert ("SAT-01", "SAT-03") in pairs and ("SAT-02", "SAT-04") in pairs


@dataclass
class FakePlan:
    """A hand-made contact plan for the router."""

    contacts: list[Contact]
    version: int = 1
    boundaries: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.boundaries = sorted({t for c in self.contacts for t in (c.start, c.end)
                                  if math.isfinite(t)})

    def ensure(self, now: float) -> None:
        pass

    def links_from(self, node: str) -> dict[str, list[Contact]]:
        out: dict[str, list[Contact]] = {}
        for c in sorted(self.contacts, key=lambda c: c.start):
            if c.frm == node:
                out.setdefault(c.to, []).append(c)
        return out

    def next_change(self, t: float) -> float:
        return min((b for b in self.boundaries if b > t), default=math.inf)

    def last_change(self, t: float) -> float:
        return max((b for b in self.boundaries if b <= t), default=-math.inf)


def contact(frm: str, to: str, start: float, end: float, kind: str = ISL, via: str = "ISL",
            delay: float = 0.01) -> Contact:
    return Contact(frm, to, start, end, kind, via, 1e6, delay)


def test_the_router_takes_the_earliest_arrival_and_waits_where_it_must() -> None:
    plan = FakePlan([
        contact(GROUND, "A", 0, 100, STATION, "KASHGAR", 0.005),
        contact("A", "B", 50, 200),
        contact(GROUND, "R", -math.inf, math.inf, "feeder", "R", 0.13),
        contact("R", "B", 120, 300, RELAY, "R", 0.13),
        contact(GROUND, "B", 400, 500, STATION, "SANYA", 0.005),
    ])
    router = Router(plan)  # type: ignore[arg-type]
    at_10 = router.route(GROUND, "B", 10.0)
    assert at_10 is not None and at_10.path == ["KASHGAR", "A", "B"]
    assert at_10.hops[1].depart == 50 and at_10.arrival == pytest.approx(50.01)  # stored at A
    assert at_10.kind == "isl"
    # Leaving now only: A is reached now, and B from A later: still a route (store at A).
    assert router.route(GROUND, "B", 10.0, first_wait_s=0.0) is not None
    # A wait of at most 30 s anywhere: nothing until the ISL is 30 s away.
    assert router.route(GROUND, "B", 10.0, max_wait_s=30.0) is None
    assert router.route(GROUND, "B", 25.0, max_wait_s=30.0).path == ["KASHGAR", "A", "B"]
    # After the pass over KASHGAR ends, the relay.
    late = router.route(GROUND, "B", 150.0)
    assert late.path == ["R", "B"] and late.kind == "relay"
    assert late.arrival == pytest.approx(150.26)
    # A margin: the relay contact must outlast the arrival by 60 s.
    assert router.route(GROUND, "B", 299.0, margin_s=60.0).path == ["SANYA", "B"]
    # Nothing at all once every contact has gone.
    assert router.route(GROUND, "B", 600.0) is None
    # Downward: the ground is an end, never a way through.
    assert router.route("B", "A", 450.0) is None


def test_routes_from_the_ground_to_every_satellite_take_one_search_and_match_route() -> None:
    # A chain of 30 satellites, in contact with the ground at one end, then at the other.
    names = [f"S{i:02d}" for i in range(30)]
    links = [contact(GROUND, names[0], 0, 100, STATION, "KASHGAR", 0.005),
             contact(GROUND, names[-1], 80, 300, STATION, "SANYA", 0.005)]
    for a, b in itertools.pairwise(names):
        links += [contact(a, b, -math.inf, math.inf), contact(b, a, -math.inf, math.inf)]
    plan = FakePlan(links)
    router = Router(plan)  # type: ignore[arg-type]
    searches = []
    explore = router._explore
    router._explore = lambda *args: searches.append(args) or explore(*args)  # type: ignore
    reference = Router(plan)  # type: ignore[arg-type]
    for t in (10.0, 20.0, 90.0, 150.0, 400.0):
        before = len(searches)
        found = router.routes_from(GROUND, names, t, first_wait_s=0.0, max_wait_s=60.0)
        assert len(searches) - before <= 1  # one search for all thirty, or none (cached)
        for name in names:
            expected = reference.route(GROUND, name, t, first_wait_s=0.0, max_wait_s=60.0)
            assert found[name] == expected, (t, name)
    assert router.routes_from(GROUND, names, 10.0, first_wait_s=0.0)[names[5]].path == [
        "KASHGAR", *names[:6]]
    assert router.routes_from(GROUND, names, 150.0, first_wait_s=0.0)[names[5]].path == [
        "SANYA", *reversed(names[5:])]
    assert all(r is None for r in router.routes_from(GROUND, names, 400.0).values())
    # Within one window between contact changes, asking again searches no more.
    router.routes_from(GROUND, names, 151.0, first_wait_s=0.0, max_wait_s=60.0)
    count = len(searches)
    router.routes_from(GROUND, names, 152.0, first_wait_s=0.0, max_wait_s=60.0)
    assert len(searches) == count


def test_outages_cut_contacts_and_relay_links_are_acquired_again_afterwards() -> None:
    sat = Constellation(EPOCH, per_plane=1).elements()[0]
    config = LinkConfig.from_overrides({"relays": ["tianlian"], "isl": "none"})
    plan = ContactPlan({sat.name: sat}, network(["china"]), config, 6 * 3600)
    router = Router(plan)
    t0 = EPOCH.timestamp() + 1800
    before = router.route(GROUND, sat.name, t0, first_wait_s=0.0)
    assert before is not None and before.kind == "relay"
    used = before.path[0]
    plan.add_outage(used, t0 - 10, t0 + 600)
    during = router.route(GROUND, sat.name, t0, first_wait_s=0.0)
    assert during is None or used not in during.path
    for c in plan.contacts():
        if used in (c.via, c.frm, c.to):
            assert c.end <= t0 - 10 or c.start >= t0 + 600
            if c.kind == RELAY and c.start >= t0 + 600 and c.start < t0 + 601 + 60:
                assert c.start >= t0 + 600 + config.relay_acquisition_s


def test_coverage_chinese_stations_alone_leave_hours_relays_close_them_under_an_orbit() -> None:
    sat = Constellation(EPOCH, per_plane=1).elements()[0]
    start = EPOCH.timestamp()
    alone = ContactPlan({sat.name: sat}, network(["china"]),
                        LinkConfig.from_overrides({"isl": "none"}), DAY + 600)
    (only,) = reachability(alone, start, start + DAY)
    assert only.longest_gap_s["direct"] > 4 * 3600  # several hours (~7 h)
    assert only.reachable_s["relay"] == 0 and only.longest_gap_s["any"] > 4 * 3600
    relayed = ContactPlan({sat.name: sat}, network(["china"]),
                          LinkConfig.from_overrides({"relays": ["tianlian"], "isl": "none"}),
                          DAY + 600)
    (both,) = reachability(relayed, start, start + DAY)
    assert both.reachable_s["direct"] == only.reachable_s["direct"]
    period_s = 99.8 * 60
    assert both.longest_gap_s["any"] < period_s
    assert both.reachable_s["any"] > 0.8 * DAY


def test_relay_specs_are_checked() -> None:
    assert [r.name for r in relays(["tianlian"])] == ["TL-1", "TL-2", "TL-3"]
    custom = relays([{"name": "EDRS-A", "longitude_deg": 9.0, "terminal": "kiruna"}])
    assert custom[0].terminal.name == "KIRUNA"
    for bad in (["TL-9"], [{"name": "X"}], ["TL-1", "TL-1"], [{"name": "SANYA",
                                                              "longitude_deg": 1.0}], [3]):
        with pytest.raises(ValueError):
            relays(bad)
    with pytest.raises(ValueError, match="isl"):
        LinkConfig.from_overrides({"isl": "mesh"})
    with pytest.raises(ValueError, match="store_bytes"):
        LinkConfig.from_overrides({"store_bytes": 0})


def test_passes_relay_prints_coverage_by_way() -> None:
    import json

    from click.testing import CliRunner

    from scenarios.cli.passes import passes_cmd

    runner = CliRunner()
    result = runner.invoke(passes_cmd, ["--start", "2026-03-20", "--per-plane", "1",
                                        "--relay", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["direct_longest_gap_min"] > 240 and row["any_longest_gap_min"] < 99.8
    assert row["relay_min"] > row["direct_min"]
    table = runner.invoke(passes_cmd, ["--start", "2026-03-20", "--per-plane", "2",
                                       "--slot-spacing", "20", "--relay", "--relays", ""])
    assert table.exit_code == 0, table.output
    assert "relays: none" in table.output and "SAT-02" in table.output
    bad = runner.invoke(passes_cmd, ["--relay", "--relays", "TL-7"])
    assert bad.exit_code != 0 and "unknown relay" in bad.output
