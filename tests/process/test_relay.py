"""Relay transmission with real processes: commands reach satellites no station sees, through
relays and inter-satellite links, the way taken is recorded, and the network's stores hold no
more than their bound.

Moments are picked from the same contact plan the processes compute (from the same element
sets), so each test starts where the geometry it needs is.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from common.orbits import Constellation, elements_from_tle
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import Client
from ground.link.config import LinkConfig
from ground.network.plan import GROUND, RELAY, ContactPlan
from ground.network.routing import Router
from ground.passes import network
from tests.process.fleet import MARCH, launch

pytestmark = pytest.mark.process

TIANLIAN = {"relays": ["tianlian"], "isl": "none"}
NO_RELAYS = {"relays": [], "isl": "none"}


def router(satellites: int, link: dict[str, Any], spacing: float = 0.0,
           stations: tuple[str, ...] = ("china",)) -> Router:
    """The network as the processes will see it (element sets through their TLEs)."""
    constellation = Constellation(MARCH, per_plane=satellites, slot_spacing_deg=spacing)
    elements = {e.name: elements_from_tle(e.name, *e.to_tle()) for e in constellation.elements()}
    plan = ContactPlan(elements, network(stations), LinkConfig.from_overrides(link), 12 * 3600)
    plan.ensure(MARCH.timestamp())
    return Router(plan)


def station_gap(satellite: str = "SAT-01") -> tuple[float, float]:
    """A moment no station sees ``satellite`` but a relay does, and the next station AOS,
    20–40 simulated minutes later."""
    direct, relayed = router(1, NO_RELAYS), router(1, TIANLIAN)
    t = MARCH.timestamp() + 1800
    while t < MARCH.timestamp() + 12 * 3600:
        soonest = direct.route(GROUND, satellite, t)
        if soonest is not None and 1200 <= soonest.departure - t <= 2400 \
                and relayed.route(GROUND, satellite, t, first_wait_s=0.0) is not None:
            return t, soonest.departure
        t += 60
    raise AssertionError("no station gap with a relay in view")


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 240))


def archived_stations(fleet: Any, satellite: str) -> set[str]:
    archive = Archive(fleet.run.path / ARCHIVE_FILE, readonly=True)
    try:
        rows = archive.query("SELECT DISTINCT station FROM packets WHERE satellite = ?",
                             satellite)
        return {row[0] for row in rows}
    finally:
        archive.db.close()


GAP_START, NEXT_AOS = station_gap()


def test_a_command_out_of_station_contact_completes_via_a_relay(tmp_path) -> None:
    fleet = launch(tmp_path / "run", with_ground=True, with_sim=False, rate=50.0,
                   start=GAP_START, link=TIANLIAN)
    try:
        async def scenario() -> None:
            async with Client(fleet.run) as ground:
                status = (await ground.status())["satellites"]["SAT-01"]
                assert status["station"] is None  # no station sees it...
                assert status["via"] == "relay", status  # ...but the network reaches it
                handle = await ground.cmd("SAT-01", "EXEC.PING", timeout=300)
                await handle.await_complete(timeout=600)
                assert handle.is_success(), handle.record
                released = dict(handle.stages)["RELEASED"]
                assert released < NEXT_AOS - 600, "it did not wait for a station"
                record = await handle.refresh()
                assert record["path"] is not None and record["path"].startswith("TL-"), record
                assert record["path"].endswith(">SAT-01")
                # Two legs to geostationary orbit and back down: about a quarter second.
                assert 0.2 < record["uplink_s"] < 1.0, record
                await ground.wait_check("SAT-01", "EXEC.UPTIME > 0", 300)
        run(scenario())
        assert any(s.startswith("TL-") for s in archived_stations(fleet, "SAT-01"))
    finally:
        fleet.stop()


def test_with_relays_disabled_the_same_command_waits_for_the_next_pass(tmp_path) -> None:
    fleet = launch(tmp_path / "run", with_ground=True, with_sim=False, rate=150.0,
                   start=GAP_START, link=NO_RELAYS)
    try:
        async def scenario() -> None:
            async with Client(fleet.run) as ground:
                assert (await ground.status())["satellites"]["SAT-01"]["path"] is None
                handle = await ground.cmd("SAT-01", "EXEC.PING", timeout=300)
                await handle.await_complete(timeout=3600)
                assert handle.is_success(), handle.record
                released = dict(handle.stages)["RELEASED"]
                assert NEXT_AOS - 5 <= released <= NEXT_AOS + 30, released - NEXT_AOS
                record = await handle.refresh()
                assert "TL-" not in record["path"] and record["path"].endswith(">SAT-01")
        run(scenario())
    finally:
        fleet.stop()


def isl_moment() -> float:
    """A moment SAT-02 is reachable only across SAT-01's inter-satellite link, for minutes."""
    network_ = router(2, {"relays": [], "isl": "in-plane"}, spacing=20.0)
    t = MARCH.timestamp() + 600
    while t < MARCH.timestamp() + 12 * 3600:
        ahead = [network_.route(GROUND, "SAT-02", t + k * 30, first_wait_s=0.0)
                 for k in range(8)]
        if all(r is not None and r.kind == "isl" for r in ahead):
            return t
        t += 30
    raise AssertionError("no moment when SAT-02 is reached only through SAT-01")


def test_a_command_crosses_an_inter_satellite_link_forwarded_by_the_other_satellite(
        tmp_path) -> None:
    start = isl_moment()
    fleet = launch(tmp_path / "run", satellites=2, slot_spacing_deg=20.0, with_ground=True,
                   with_sim=False, rate=10.0, start=start,
                   link={"relays": [], "isl": "in-plane"})
    try:
        async def scenario() -> None:
            async with Client(fleet.run) as ground:
                handle = await ground.cmd("SAT-02", "EXEC.PING", timeout=120)
                await handle.await_complete(timeout=200)
                assert handle.is_success(), handle.record
                path = (await handle.refresh())["path"]
                assert path.endswith(">SAT-01>SAT-02"), path
                # SAT-01's radio forwarded it (and SAT-02's telemetry on the way down).
                await ground.wait_check("SAT-01", "EXEC.FORWARDED_FRAMES >= 2", 120)
        run(scenario())
        assert any(s.startswith("SAT-01>") for s in archived_stations(fleet, "SAT-02"))
    finally:
        fleet.stop()


def relay_rise() -> float:
    """When TL-1 comes into SAT-01's view (its antenna locked on) with no station in sight."""
    network_ = router(1, {"relays": ["TL-1"], "isl": "none"})
    direct = router(1, NO_RELAYS)
    for contact in network_.plan.contacts(RELAY):
        if contact.frm != "TL-1" or not math.isfinite(contact.start):
            continue
        start = contact.start
        if start - MARCH.timestamp() < 1800:
            continue
        clear = [direct.route(GROUND, "SAT-01", start + k, first_wait_s=0.0) is None
                 for k in range(-900, 300, 30)]
        if all(clear):
            return start
    raise AssertionError("no rise of TL-1 over SAT-01 away from the stations")


def test_store_and_forward_holds_frames_for_a_relay_within_its_bound(tmp_path) -> None:
    from common.dictionary import DICTIONARY
    from common.packets import encode

    size = len(encode(DICTIONARY.encode_command("EXEC.PING", seq_count=1, source_id=1)))
    rise = relay_rise()
    link = {"relays": ["TL-1"], "isl": "none", "store_bytes": 3 * size + 1}
    fleet = launch(tmp_path / "run", with_ground=True, with_sim=False, rate=30.0,
                   start=rise - 300, link=link)
    try:
        async def scenario() -> dict[str, Any]:
            async with Client(fleet.run) as ground:
                handles = [await ground.cmd("SAT-01", "EXEC.PING", timeout=400)
                           for _ in range(6)]
                for handle in handles:
                    await handle.await_complete(timeout=1800)
                states = sorted(h.state for h in handles)
                # Released a little before the relay rises, they wait at TL-1: three fit its
                # store and arrive once it sees the satellite; three do not, and are counted.
                assert states == ["COMPLETED"] * 3 + ["TIMEOUT"] * 3, states
                for handle in handles:
                    record = await handle.refresh()
                    sent = dict(handle.stages)["SENT"]
                    assert sent < rise
                    if handle.state == "COMPLETED":
                        assert record["path"] == "TL-1>SAT-01"
                        assert sent + record["uplink_s"] >= rise - 1.0
                return (await ground.status())["link"]
        link_status = run(scenario())
        assert link_status["stores"]["TL-1"]["overflow"] == 3
        assert link_status["stores"]["TL-1"]["stored"] == 3
        assert link_status["stores"]["TL-1"]["bytes"] == 0
    finally:
        fleet.stop()
