"""Over tcp, every connection is CURVE-encrypted and only listed client keys get in."""

from __future__ import annotations

import asyncio

import pytest

from common.curve import make_keys
from ground.client import Client
from tests.process.fleet import launch
from tests.process.test_ground import inside_a_long_window

pytestmark = pytest.mark.process


def test_listed_clients_connect_over_tcp_and_unlisted_ones_cannot(tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window(), transport="tcp")
    try:
        make_keys(fleet.run.run_dir, ["intruder"], authorize=False)

        async def scenario() -> None:
            async with Client(fleet.run) as ground:  # the listed "operator" key
                handle = await ground.cmd("SAT-01", "EXEC.PING")
                await handle.await_complete(timeout=300)
                assert handle.is_success(), handle.record
            intruder = Client(fleet.run, "intruder", identity="intruder")
            with pytest.raises(ConnectionError):
                await intruder.connect(wall_timeout=3.0)

        asyncio.run(scenario())
    finally:
        fleet.stop()
