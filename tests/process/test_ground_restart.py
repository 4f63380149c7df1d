"""Ground control killed in the middle of a pass: it resumes, sends nothing twice, loses
nothing archived."""

from __future__ import annotations

import asyncio
import time

import pytest

from ground.archive import ARCHIVE_FILE, Archive
from ground.client import Client
from tests.process.fleet import launch
from tests.process.test_ground import inside_a_long_window

pytestmark = pytest.mark.process


def archived(run) -> int:
    archive = Archive(run.path / ARCHIVE_FILE, readonly=True)
    try:
        return archive.query("SELECT COUNT(*) FROM packets")[0][0]
    finally:
        archive.db.close()


def test_kill_9_of_ground_control_mid_pass_sends_no_command_twice(tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window())
    try:
        async def before() -> list[int]:
            async with Client(fleet.run) as ground:
                now = ground.now()
                ids = [(await ground.cmd("SAT-01", "HK.NOOP", timeout=120,
                                         release_at=now + 4 * i)).id for i in range(12)]
                await ground.wait_check("SAT-01", "HK.UPTIME > 0", 300)
                await asyncio.sleep(1.0)  # several commands out, several still queued
                return ids

        ids = asyncio.run(before())
        packets_before = archived(fleet.run)
        assert packets_before > 0
        fleet.extra[0].kill()  # SIGKILL ground control
        fleet.extra[0].wait(5)
        fleet.start_ground()

        async def after() -> tuple[list[dict], int]:
            async with Client(fleet.run) as ground:
                records = []
                for command_id in ids:
                    reply = await ground.request("command", command_id=command_id)
                    records.append(reply["command"])
                deadline = time.monotonic() + 60
                while any(r["state"] not in ("COMPLETED", "FAILED", "TIMEOUT")
                          for r in records):
                    assert time.monotonic() < deadline, records
                    await asyncio.sleep(0.5)
                    records = [(await ground.request("command", command_id=i))["command"]
                               for i in ids]
                executed = await ground.wait_check("SAT-01", "HK.CMD_COUNT >= 1", 600)
                await asyncio.sleep(2.0)
                executed = await ground.tlm("SAT-01", "HK.CMD_COUNT")
                return records, int(executed)

        records, executed = asyncio.run(after())
        assert archived(fleet.run) >= packets_before, "archived packets were lost"
        states = [r["state"] for r in records]
        assert states.count("COMPLETED") >= 8, states
        sent = [r for r in records if any(stage == "SENT" for stage, _ in r["stages"])]
        assert executed <= len(sent) == len(ids), (executed, states)
        seqs = [r["seq"] for r in records]
        assert len(set(seqs)) == len(seqs), f"a sequence count was used twice: {seqs}"
    finally:
        fleet.stop()
