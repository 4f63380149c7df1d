"""Ground control killed in the middle of a pass: it resumes, sends nothing twice, loses
nothing archived, and keeps what operators set."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from common.dictionary import DICTIONARY, GROUND_ID
from common.packets import decode
from ground.archive import ARCHIVE_FILE, Archive
from ground.client import Client, GroundError
from tests.process.fleet import launch
from tests.process.test_ground import inside_a_long_window

pytestmark = pytest.mark.process


def archived(run) -> set[tuple]:
    """Every packet of the archive, by what makes it unique."""
    archive = Archive(run.path / ARCHIVE_FILE, readonly=True)
    try:
        return {tuple(row) for row in archive.query(
            "SELECT satellite, apid, seq, coarse, fine FROM packets")}
    finally:
        archive.db.close()


def completions(run, apid: int) -> Counter[int]:
    """How many TM[1,7] completion reports the archive holds per sequence count of ``apid``,
    for ground control's telecommands."""
    archive = Archive(run.path / ARCHIVE_FILE, readonly=True)
    try:
        rows = archive.query("SELECT raw FROM packets WHERE service = 1 AND subtype = 7")
    finally:
        archive.db.close()
    found: Counter[int] = Counter()
    for (raw,) in rows:
        packet = decode(raw)
        values = DICTIONARY.decode_tm(packet).values
        if packet.dest_id == GROUND_ID and values["packet_id"] & 0x7FF == apid:
            found[values["sequence"] & 0x3FFF] += 1
    return found


def test_kill_9_of_ground_control_mid_pass_sends_no_command_twice(tmp_path) -> None:
    fleet = launch(tmp_path / "run", satellites=2, stations=("polar",), with_ground=True,
                   with_sim=False, rate=20.0, start=inside_a_long_window())
    try:
        async def before() -> tuple[list[int], float]:
            async with Client(fleet.run) as ground:
                t0 = ground.now()
                await ground.request("queue", satellite="SAT-02", state="DISABLED")
                ids = [(await ground.cmd("SAT-01", "HK.NOOP", timeout=120,
                                         release_at=t0 + 4 * i)).id for i in range(12)]

                async def some_out() -> None:  # several commands out, several still queued
                    while True:
                        records = [(await ground.request("command", command_id=i))["command"]
                                   for i in ids]
                        if sum(r["state"] == "COMPLETED" for r in records) >= 3:
                            return
                        await asyncio.sleep(0.1)

                await asyncio.wait_for(some_out(), 60)
                return ids, t0

        ids, t0 = asyncio.run(before())
        packets_before = archived(fleet.run)
        assert packets_before
        fleet.extra[0].kill()  # SIGKILL ground control
        fleet.extra[0].wait(5)
        fleet.start_ground()

        async def after() -> tuple[list[dict], int]:
            async with Client(fleet.run) as ground:
                assert (await ground.status())["satellites"]["SAT-02"]["queue"] == "DISABLED"
                with pytest.raises(GroundError, match="disabled"):
                    await ground.cmd("SAT-02", "EXEC.PING")
                records = []
                deadline = time.monotonic() + 60
                while True:
                    records = [(await ground.request("command", command_id=i))["command"]
                               for i in ids]
                    if all(r["state"] in ("COMPLETED", "FAILED", "TIMEOUT") for r in records):
                        break
                    assert time.monotonic() < deadline, records
                    await asyncio.sleep(0.5)
                # What came down while ground control was dead is on the recorder: play it back.
                playback = await ground.cmd("SAT-01", "HK.PLAYBACK", start=t0, end=ground.now())
                await playback.await_complete(timeout=600)
                assert playback.is_success(), playback.record
                events = []
                while not events:
                    events = await ground.events("SAT-01", name="HK.PLAYBACK_DONE")
                    await asyncio.sleep(0.2)
                await ground.wait_check("SAT-01", "HK.CMD_COUNT >= 13", 600)
                uptime = await ground.tlm("SAT-01", "HK.UPTIME")
                await ground.wait_check("SAT-01", f"HK.UPTIME > {uptime}", 600)  # a fresh report
                return records, int(await ground.tlm("SAT-01", "HK.CMD_COUNT"))

        records, executed = asyncio.run(asyncio.wait_for(after(), 240))
        assert packets_before <= archived(fleet.run), "archived packets were lost"
        states = [r["state"] for r in records]
        assert states.count("COMPLETED") >= 8, states
        seqs = [r["seq"] for r in records]
        assert None not in seqs and len(set(seqs)) == len(seqs), f"a sequence count twice: {seqs}"
        # Every command executed exactly once: one completion report each, and no more
        # executions on board than commands (the PLAYBACK itself is the 13th).
        reports = completions(fleet.run, DICTIONARY.command("HK.NOOP").apid)
        assert [reports[seq] for seq in seqs] == [1] * len(seqs), reports
        assert executed == len(ids) + 1, executed
    finally:
        fleet.stop()
