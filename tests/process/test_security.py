"""Authenticated telecommands on a running satellite: forgeries refused, counted, evented."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.dictionary import DICTIONARY
from common.packets import encode
from common.sdls import DEFAULT_WINDOW, protect, read_key_file
from tests.process.conftest import stop_tree
from tests.process.fleet import _spawn, launch
from tests.process.groundside import GroundSide

pytestmark = pytest.mark.process


def auth_event(reason: str):
    return lambda r: (r.tm is not None and r.tm.name == "EXEC.AUTH_REJECTED"
                      and r.tm.values["reason"] == reason)


def status(ground: GroundSide) -> dict:
    start = len(ground.received)
    ground.send("EXEC.REPORT_HK", structure="STATUS")
    return ground.wait_for(lambda r: r.tm is not None and r.tm.name == "EXEC.STATUS",
                           since=start).tm.values


def test_forged_replayed_and_out_of_window_commands_are_refused(tmp_path) -> None:
    fleet = launch(tmp_path / "run", rate=20.0, with_sim=False, security=True)
    try:
        ground = fleet.ground["SAT-01"]
        keys = read_key_file(Path(fleet.run.key_file))["SAT-01"]
        ping = encode(DICTIONARY.encode_command("EXEC.PING", seq_count=900, source_id=2))
        captured = ground.signer.sign(ping)
        ground.send_raw(captured)
        start = len(ground.received)
        # Forged: a bit of the MAC flipped.
        forged = bytearray(ground.signer.sign(ping))
        forged[-2] ^= 0x10
        ground.send_raw(bytes(forged))
        ground.wait_for(auth_event("BAD_MAC"), since=start)
        # Replayed: an authentic frame sent a second time.
        ground.send_raw(captured)
        ground.wait_for(auth_event("REPLAY"), since=start)
        # Out of the anti-replay window.
        last = ground.signer.next_arsn[1]
        ground.send_raw(protect(keys[1], 1, last + DEFAULT_WINDOW + 100, "SAT-01", ping))
        ground.wait_for(auth_event("OUT_OF_WINDOW"), since=start)
        # Unsigned.
        ground.send_raw(ping)
        ground.wait_for(auth_event("TOO_SHORT"), since=start)
        # Authentic commands keep working, and the refusals are counted.
        ground.ping_until_alive()
        values = status(ground)
        assert values["EXEC.AUTH_REJECTED"] == 4 and values["EXEC.ACTIVE_SPI"] == 1

        # The anti-replay counter survives a restart of the executive.
        stop_tree(fleet.satellites["SAT-01"])
        ground.close()
        fleet.satellites["SAT-01"] = _spawn(fleet.run, ["sat", "SAT-01", "--no-clock-master"],
                                            "SAT-01b")
        again = GroundSide(fleet.run, "SAT-01")
        fleet.ground["SAT-01"] = again
        again.signer.next_arsn = dict(ground.signer.next_arsn)
        again.ping_until_alive()
        start = len(again.received)
        again.send_raw(captured)
        again.wait_for(auth_event("REPLAY"), since=start)

        # Key rotation by an authenticated command.
        start = again.command("EXEC.ACTIVATE_KEY", spi=2)
        again.send("EXEC.PING")  # still signed with SPI 1
        again.wait_for(auth_event("INACTIVE_SPI"), since=start)
        again.signer.use(2)
        again.ping_until_alive()
        assert status(again)["EXEC.ACTIVE_SPI"] == 2
    finally:
        fleet.stop()


def test_ground_control_signs_every_command_and_no_key_is_logged_or_archived(tmp_path) -> None:
    import asyncio
    import base64
    import os
    import stat

    from ground.client import Client
    from tests.process.test_ground import inside_a_long_window

    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window(), security=True)
    try:
        async def scenario() -> None:
            async with Client(fleet.run) as ground:
                for name in ("EXEC.PING", "HK.NOOP", "FP.PING"):
                    handle = await ground.cmd("SAT-01", name, timeout=120)
                    await handle.await_complete(timeout=300)
                    assert handle.is_success(), handle.record  # signed, through the link
                await ground.wait_check("SAT-01", "EXEC.UPLINK_PACKETS >= 3", 300)
                assert await ground.tlm("SAT-01", "EXEC.AUTH_REJECTED") == 0

        asyncio.run(asyncio.wait_for(scenario(), 240))
    finally:
        fleet.stop()
    key_file = Path(fleet.run.key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(os.stat(fleet.run.run_dir).st_mode) == 0o700
    secrets = [key for keys in read_key_file(key_file).values() for key in keys.values()]
    forms = [form for key in secrets
             for form in (key, key.hex().encode(), key.hex().upper().encode(),
                          base64.b64encode(key))]
    for path in Path(fleet.run.run_dir).rglob("*"):
        if path.is_file() and path != key_file:
            data = path.read_bytes()
            leaked = [f for f in forms if f in data]
            assert not leaked, f"key material in {path}"
