"""A real job through ground control, and its result home across a loss of signal.

The whole segment runs (satellite, simulated hardware, space link, ground control with its
archive) and the test uses only the operator client and the archive. The job is submitted
near the end of a contact, on a downlink slowed to 16 kbps (an S-band link) so that its result
file — 300 pieces — is still coming down when the contact ends: ground control asks for what is
missing at the next contact, reassembles the file and checks its digest. The test checks the
file against its own SHA-256 computation and the archive against the transfer: every piece
stored exactly once, some before the loss of signal and the rest after the next acquisition.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from common.dictionary.apps.compute import CHUNK_BYTES
from common.orbits import Constellation
from common.runconfig import Timing
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import Client
from ground.passes import network, passes
from tests.process.fleet import MARCH, launch
from tests.unit.test_compute import independent_result

pytestmark = pytest.mark.process

WORK_NODE_S = 30.0
RESULT_BYTES = 300 * CHUNK_BYTES
SEED = "across-los"
#: Simulated seconds before the loss of signal at which the job goes up.
LEAD_S = 150.0
#: Slow enough that a loaded machine's lags (wall seconds × rate) fit in the lead.
RATE = 40.0
#: Waits go faster, but less than 4 × RATE: an app plans its next heartbeat at the rate of the
#: moment, and fault protection would take a heartbeat planned at a much higher rate, which
#: comes late once the rate drops, for a hung app.
FAST_RATE = 150.0
#: Gaps between contacts the test waits through at most.
MAX_GAP_S = 2500.0


def contacts(hours: float = 12.0) -> list[tuple[float, float]]:
    """The polar network's contacts with SAT-01 from MARCH, overlapping passes merged."""
    elements = Constellation(MARCH, per_plane=1).elements()[0]
    start = MARCH.timestamp()
    found = sorted((p.aos, p.los) for station in network(["polar"])
                   for p in passes(elements, station, start, start + hours * 3600))
    merged: list[list[float]] = []
    for aos, los in found:
        if merged and aos <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], los)
        else:
            merged.append([aos, los])
    return [(aos, los) for aos, los in merged]


def contact_pairs() -> list[tuple[float, float, float]]:
    """(LOS, next AOS, next LOS) of every contact of 5 min or more followed by another one."""
    windows = contacts()
    return [(a[1], b[0], b[1]) for a, b in itertools.pairwise(windows)
            if a[1] - a[0] >= 300 and b[1] - b[0] >= 300 and b[0] - a[1] <= MAX_GAP_S]


PAIRS = contact_pairs()


async def until(ground: Client, what: str, probe: Callable[[], Awaitable[Any]],
                timeout: float) -> Any:
    """Ask ``probe`` (every 0.1 wall s) until it answers something true, for at most
    ``timeout`` simulated seconds."""
    async def asking() -> Any:
        while not (found := await probe()):
            await asyncio.sleep(0.1)
        return found
    return await ground.wait_sim(asking(), timeout, what)


def the_transfer(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((t for t in found if t["satellite"] == "SAT-01" and t["job_id"] == 1), None)


def test_a_job_submitted_through_ground_control_comes_home_across_a_loss_of_signal(
        tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, rate=RATE,
                   start=PAIRS[0][0] - 900, hardware={"upsets_per_node_day": 0.0},
                   timing=Timing(sensor_interval_s=5.0), link={"downlink_bps": 16_000.0})
    try:
        los, next_aos = asyncio.run(asyncio.wait_for(scenario(fleet), 300))
        check_archive(fleet, los, next_aos)
    finally:
        fleet.stop()


async def fast_forward(ground: Client, until: float) -> None:
    """Let simulated time run fast until ``until`` (nothing happens meanwhile but waiting)."""
    if ground.now() < until:
        await ground.set_rate(FAST_RATE)
        await ground.wait_sim(ground.clock.sleep_until(until), until - ground.now() + 60,
                              f"simulated time {until:.0f}")
        await ground.set_rate(RATE)


async def scenario(fleet) -> tuple[float, float]:
    """Submit, wait for DONE and for the loss of signal, then for the file; (LOS, next AOS)."""
    want = independent_result(SEED, WORK_NODE_S, RESULT_BYTES)
    async with Client(fleet.run) as ground:
        # A loaded machine may start the segment slowly: take the next contact far enough ahead.
        los, next_aos, next_los = next(
            pair for pair in PAIRS if pair[0] - LEAD_S - 60 > ground.now())
        await fast_forward(ground, los - LEAD_S - 60)
        handle = await ground.cmd("SAT-01", "COMPUTE.SUBMIT_JOB", release_at=los - LEAD_S,
                                  timeout=300, job={
                                      "id": 1, "kind": "sha256-chain", "work": WORK_NODE_S,
                                      "seed": SEED, "output_size": RESULT_BYTES})
        await handle.await_complete(timeout=LEAD_S + 600)
        assert handle.is_success(), handle.record

        async def done() -> bool:
            events = await ground.events("SAT-01", name="COMPUTE.JOB_STATE")
            return any(e["args"] == {"job_id": 1, "state": "DONE"} for e in events)
        await until(ground, "job 1 DONE", done, LEAD_S + 60)

        async def cut() -> dict[str, Any] | None:
            transfer = the_transfer(await ground.transfers("SAT-01"))
            return transfer if ground.now() > los + 5 and transfer else None
        at_los = await until(ground, "the loss of signal, with a transfer begun", cut, 300)
        assert at_los["state"] == "RECEIVING"
        assert 0 < at_los["pieces"] < at_los["chunks"] == RESULT_BYTES // CHUNK_BYTES, \
            f"the transfer must be cut by the loss of signal: {at_los}"
        await fast_forward(ground, next_aos - 120)  # nothing happens out of contact

        async def confirmed() -> dict[str, Any] | None:
            transfer = the_transfer(await ground.transfers("SAT-01"))
            return transfer if transfer and transfer["state"] == "CONFIRMED" else None
        transfer = await until(ground, "the result confirmed", confirmed, next_los - next_aos)
        with open(transfer["path"], "rb") as handle_file:
            got = handle_file.read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(want).digest()
        assert got == want
        history = await ground.history("SAT-01")
        (downlink,) = [c for c in history if c["name"] == "COMPUTE.DOWNLINK_RESULT"]
        assert downlink["state"] == "COMPLETED", "its report went down ahead of the pieces"
        resends = [c for c in history
                   if c["name"] == "COMPUTE.RESEND_RESULT" and c["args"]["ranges"]]
        assert resends and all(c["state"] == "COMPLETED" for c in resends), [
            (c["args"], c["state"], c["stages"], c.get("failure")) for c in resends]
        sent_at = [dict(map(tuple, c["stages"]))["SENT"] for c in resends]
        assert min(sent_at) >= next_aos - 5, "the missing pieces were asked for next contact"
    return los, next_aos


def check_archive(fleet, los: float, next_aos: float) -> None:
    """The archive holds the whole transfer: every piece once, across the gap."""
    want = independent_result(SEED, WORK_NODE_S, RESULT_BYTES)
    archive = Archive(fleet.run.path / ARCHIVE_FILE, readonly=True)
    try:
        deadline = time.monotonic() + 10
        while True:  # the archive commits every half second
            (row,) = archive.query("SELECT state, size, sha256, started, finished FROM "
                                   "transfers WHERE satellite = 'SAT-01' AND job_id = 1")
            if row["state"] == "CONFIRMED":
                break
            assert time.monotonic() < deadline, dict(row)
            time.sleep(0.1)
        assert row["size"] == RESULT_BYTES
        assert row["sha256"] == hashlib.sha256(want).hexdigest()
        assert row["started"] < los < next_aos < row["finished"]
        stored = archive.query("SELECT offset, length, time FROM transfer_pieces WHERE "
                               "satellite = 'SAT-01' AND job_id = 1 AND duplicate = 0 "
                               "ORDER BY offset")
        offsets = [piece["offset"] for piece in stored]
        assert offsets == list(range(0, RESULT_BYTES, CHUNK_BYTES)), "each piece stored once"
        assert sum(piece["length"] for piece in stored) == RESULT_BYTES
        before = sum(1 for piece in stored if piece["time"] < los)
        after = sum(1 for piece in stored if piece["time"] >= next_aos)
        assert before > 0 and after > 0 and before + after == len(stored), (before, after)
    finally:
        archive.db.close()
