"""The ground segment with real processes: windows, verification, loss, playback, alarms."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from common.dictionary import DICTIONARY
from common.orbits import Constellation
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import Client
from ground.passes import network, passes
from tests.process.fleet import MARCH, Fleet, launch

pytestmark = pytest.mark.process


def polar_passes(hours: float = 12.0) -> list:
    elements = Constellation(MARCH, per_plane=1).elements()[0]
    start = MARCH.timestamp()
    found = [p for station in network(["polar"])
             for p in passes(elements, station, start, start + hours * 3600)]
    return sorted(found, key=lambda p: p.aos)


def outside_a_window() -> tuple[float, float]:
    """A start time 60 s after a loss of signal, and the next AOS after it."""
    found = polar_passes()
    for before in found:
        merged_los = max(p.los for p in found if p.aos <= before.los)
        nxt = min((p.aos for p in found if p.aos > merged_los + 60), default=None)
        if nxt is not None and 600 < nxt - merged_los < 3600:
            return merged_los + 60, nxt
    raise AssertionError("no suitable gap between polar passes")


def inside_a_long_window() -> float:
    longest = max(polar_passes(), key=lambda p: p.duration_s)
    return longest.aos + 5


@pytest.fixture
def segment(request, tmp_path):
    fleet: Fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True,
                          **getattr(request, "param", {}))
    try:
        yield fleet
    finally:
        fleet.stop()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 240))


START, NEXT_AOS = outside_a_window()


@pytest.mark.parametrize("segment", [dict(rate=300.0, start=START, with_sim=False)],
                         indirect=True)
def test_command_queued_outside_a_window_is_released_at_aos_and_completes(segment) -> None:
    async def scenario() -> None:
        async with Client(segment.run) as ground:
            status = await ground.status()
            assert status["satellites"]["SAT-01"]["station"] is None
            handle = await ground.cmd("SAT-01", "EXEC.PING", timeout=600)
            assert handle.state == "QUEUED"
            await handle.await_complete(timeout=7200)
            assert handle.is_success(), handle.record
            names = [name for name, _ in handle.stages]
            assert names == ["QUEUED", "RELEASED", "SENT", "ACCEPTED", "STARTED", "COMPLETED"]
            times = [when for _, when in handle.stages]
            assert times == sorted(times)
            released = dict(handle.stages)["RELEASED"]
            assert NEXT_AOS - 5 <= released <= NEXT_AOS + 30, (released - NEXT_AOS)
            await ground.sync()
    run(scenario())
    archive = Archive(segment.run.path / ARCHIVE_FILE, readonly=True)
    try:
        stages = archive.stages(1)
        assert [s for s, _, _ in stages] == ["QUEUED", "RELEASED", "SENT", "ACCEPTED", "STARTED",
                                            "COMPLETED"]
    finally:
        archive.db.close()


LOSS_S = 240.0


@pytest.mark.parametrize("segment", [dict(rate=40.0, start=inside_a_long_window(),
                                          with_sim=False, seed=7)], indirect=True)
def test_with_ten_percent_loss_every_command_completes_or_times_out_and_none_runs_twice(
        segment) -> None:
    from tests.process.test_ground_restart import completions

    async def scenario() -> tuple[list[Any], int]:
        async with Client(segment.run) as ground:
            t0 = ground.now()
            # 10 % of packets lost both ways for a span; afterwards the link is clean, so that
            # a playback can bring down every report the satellite made.
            await ground.impair("SAT-01", t0, t0 + LOSS_S, loss=0.1)
            # HK: the test's side-door pings (to EXEC) do not touch its counters.
            handles = [await ground.cmd("SAT-01", "HK.NOOP", timeout=60) for _ in range(30)]
            for handle in handles:
                await handle.await_complete(timeout=300)
            states = [h.state for h in handles]
            assert set(states) <= {"COMPLETED", "TIMEOUT"}, states
            assert states.count("COMPLETED") >= 15, states
            for handle in handles:
                if handle.state == "TIMEOUT":
                    assert "no completion" in (handle.error or "")
            await ground.clock.sleep_until(t0 + LOSS_S + 5)
            playback = await ground.cmd("SAT-01", "HK.PLAYBACK", start=t0, end=ground.now())
            await playback.await_complete(timeout=300)
            assert playback.is_success(), playback.record
            while not await ground.events("SAT-01", name="HK.PLAYBACK_DONE"):
                await asyncio.sleep(0.2)
            uptime = await ground.tlm("SAT-01", "HK.UPTIME")
            await ground.wait_check("SAT-01", f"HK.UPTIME > {uptime}", 300)  # a fresh report
            await ground.sync()  # everything read so far is in the archive file
            return [await h.refresh() for h in handles], int(await ground.tlm("SAT-01",
                                                                              "HK.CMD_COUNT"))

    records, executed = run(scenario())
    reports = completions(segment.run, DICTIONARY.command("HK.NOOP").apid)
    for record in records:
        # Completed: executed exactly once. Timed out: its uplink or its reports were lost;
        # executed at most once.
        allowed = {1} if record["state"] == "COMPLETED" else {0, 1}
        assert reports[record["seq"]] in allowed, (record, reports)
    assert any(r["state"] == "TIMEOUT" for r in records) or len(records) == 30
    # Housekeeping counts what it executed: the commands that reported, and the playback.
    assert executed == sum(reports[r["seq"]] for r in records) + 1


@pytest.mark.parametrize("segment", [dict(rate=40.0, start=inside_a_long_window(),
                                          with_sim=False)], indirect=True)
def test_playback_of_a_span_already_received_adds_no_rows(segment) -> None:
    async def scenario() -> tuple[float, float, int]:
        async with Client(segment.run) as ground:
            # Thirty simulated seconds from now, whatever uptime the satellite already has
            # (a loaded machine may take a while to bring the fleet up).
            t0 = ground.now()
            await ground.clock.sleep(30.0)
            await ground.wait_check("SAT-01", f"EXEC.UPTIME > {await uptime(ground)}", 600)
            t1 = ground.now()
            # Counted once later telemetry has come down: a packet stamped just before t1 may
            # still be on its way at t1 (seen once: one row more at the end than at the start,
            # a live packet, not a played-back copy).
            await ground.wait_check("SAT-01", f"EXEC.UPTIME > {await uptime(ground) + 10}",
                                    600)
            await ground.sync()  # what was read is in the archive file
            before = count(segment, t0, t1)
            assert before > 0
            handle = await ground.cmd("SAT-01", "HK.PLAYBACK", start=t0, end=t1)
            await handle.await_complete(timeout=300)
            assert handle.is_success(), handle.record
            done = await ground.events("SAT-01", name="HK.PLAYBACK_DONE")
            for _ in range(50):
                if done:
                    break
                await asyncio.sleep(0.2)
                done = await ground.events("SAT-01", name="HK.PLAYBACK_DONE")
            assert done and done[-1]["args"]["packets"] >= before
            for _ in range(50):  # the played-back copies are read after the event
                duplicates = (await ground.status())["counters"].get("duplicates", 0)
                if duplicates >= before:
                    break
                await asyncio.sleep(0.2)
            assert duplicates >= before
            await ground.sync()
            return t0, t1, before
    t0, t1, before = run(scenario())
    assert count(segment, t0, t1) == before


async def uptime(ground: Client) -> float:
    value = await ground.tlm("SAT-01", "EXEC.UPTIME")
    return float(value or 0)


def count(segment, t0: float, t1: float) -> int:
    archive = Archive(segment.run.path / ARCHIVE_FILE, readonly=True)
    try:
        return archive.query("SELECT COUNT(*) FROM packets WHERE time BETWEEN ? AND ?",
                             t0, t1)[0][0]
    finally:
        archive.db.close()


@pytest.mark.parametrize("segment", [dict(rate=40.0, start=inside_a_long_window(),
                                          with_sim=False,
                                          link={"downlink_corruption": 0.3})], indirect=True)
def test_malformed_packets_from_the_link_are_counted_and_ground_keeps_running(segment) -> None:
    async def scenario() -> None:
        async with Client(segment.run) as ground:
            for _ in range(100):
                status = await ground.status()
                if status["counters"].get("rejected_crc_mismatch", 0) >= 3:
                    break
                await asyncio.sleep(0.2)
            counters = status["counters"]
            assert counters["rejected_crc_mismatch"] >= 3
            assert counters["packets"] > 0
            handle = await ground.cmd("SAT-01", "EXEC.PING", timeout=120)
            await handle.await_complete(timeout=300)
            assert handle.state in ("COMPLETED", "TIMEOUT")
    run(scenario())


def test_a_limit_violation_raises_an_alarm_that_is_acknowledged_even_after_a_restart(
        tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, rate=20.0,
                   start=inside_a_long_window(), hardware={"initial_soc": 0.3})
    try:
        async def raised() -> dict:
            async with Client(fleet.run) as ground:
                await ground.wait_check("SAT-01", "EPS.BATTERY_SOC < 40", 600)
                while True:  # ground's alarm follows the limits' persistence: 3 samples
                    found = [a for a in await ground.alarms() if a["param"] == "EPS.BATTERY_SOC"]
                    if found:
                        return found[0]
                    await asyncio.sleep(0.2)

        alarm = run(raised())
        assert alarm["level"] == "warning" and alarm["state"] == "OPEN"
        assert 25 <= alarm["value"] < 40
        fleet.extra[0].kill()  # ground control dies before anybody acknowledged it
        fleet.extra[0].wait(5)
        fleet.start_ground()

        async def acknowledged() -> dict:
            async with Client(fleet.run) as ground:
                listed = [a for a in await ground.alarms() if a["alarm_id"] == alarm["alarm_id"]]
                assert listed, "the unacknowledged alarm was forgotten in the restart"
                done = await ground.ack(alarm["alarm_id"])
                assert done["state"] == "ACKNOWLEDGED" and done["acknowledged_by"] == "operator"
                assert alarm["alarm_id"] not in [a["alarm_id"] for a in await ground.alarms()]
                from ground.client import GroundError
                with pytest.raises(GroundError, match="no unacknowledged alarm"):
                    await ground.ack(alarm["alarm_id"])
                return done

        run(acknowledged())
        archive = Archive(fleet.run.path / ARCHIVE_FILE, readonly=True)
        try:
            (row,) = archive.query("SELECT level, acknowledged_by FROM alarms WHERE id = ?",
                                   alarm["alarm_id"])
            assert tuple(row) == ("warning", "operator")
        finally:
            archive.db.close()
    finally:
        fleet.stop()


def test_bad_requests_are_refused_with_a_reason(tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window())
    try:
        async def scenario() -> None:
            async with Client(fleet.run) as ground:
                from ground.client import GroundError
                with pytest.raises(GroundError, match="watts=-1"):
                    await ground.cmd("SAT-01", "COMPUTE.SET_POWER_CAP", watts=-1)
                with pytest.raises(GroundError, match="unknown op"):
                    await ground.request("fly")
                with pytest.raises(GroundError, match="unknown satellite"):
                    await ground.cmd("SAT-99", "EXEC.PING")
                handle = await ground.cmd("SAT-01", "EXEC.PING")
                await handle.await_complete(timeout=300)
                retry = await ground.request("retry", command_id=handle.id)
                assert retry["command"]["retry_of"] == handle.id
                status = await ground.status()
                assert status["counters"]["bad_requests"] >= 3
        run(scenario())
    finally:
        fleet.stop()


del dt
