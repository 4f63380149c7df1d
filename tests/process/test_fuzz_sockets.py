"""Malformed input thrown at every socket of a running fleet: counted, and nothing falls over.

A bounded, seeded number of messages per socket here; ``bench/fuzz.py`` throws far more."""

from __future__ import annotations

import asyncio
import random

import pytest
import zmq

from common import bus
from common.endpoints import Endpoints
from ground.client import Client
from tests.process.fleet import launch
from tests.process.test_ground import inside_a_long_window

pytestmark = pytest.mark.process
MESSAGES = 300


def garbage(rng: random.Random) -> list[bytes]:
    """A multipart message of random frames, sometimes shaped like ours."""
    shape = rng.random()
    frames = [rng.randbytes(rng.randrange(0, 60)) for _ in range(rng.randrange(0, 5))]
    if shape < 0.3:
        frames = [b"SAT-01", bytes([rng.randrange(3)]), rng.randbytes(rng.randrange(0, 90))]
    elif shape < 0.5:
        frames = [b"SAT-01/TC/010", rng.randbytes(rng.randrange(0, 90))]
    return frames or [b""]


def test_garbage_on_every_socket_is_counted_and_the_fleet_keeps_working(tmp_path) -> None:
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window())
    rng = random.Random(20261124)
    endpoints = Endpoints(fleet.run)
    context = zmq.Context()
    try:
        sockets = {
            "uplink": (zmq.PUSH, endpoints.uplink("SAT-01")),
            "link": (zmq.PUSH, endpoints.link()),
            "bus": (zmq.PUB, endpoints.bus_in("SAT-01")),
            "ground": (zmq.DEALER, endpoints.ground()),
        }
        opened = {}
        for name, (kind, address) in sockets.items():
            sock = context.socket(kind)
            sock.setsockopt(zmq.LINGER, 2000)
            sock.connect(address)
            opened[name] = sock
        # The bus delivers only to subscribers: subscribe-through happens on connect.
        sub = context.socket(zmq.SUB)
        sub.connect(endpoints.bus_out("SAT-01"))
        sub.setsockopt(zmq.SUBSCRIBE, b"SAT-01/TC/010")
        for _ in range(MESSAGES):
            for name, sock in opened.items():
                frames = garbage(rng)
                if name == "ground":
                    frames = [rng.choice([rng.randbytes(rng.randrange(0, 40)),
                                          b"\x81\xa2op\xa3fly", b"\x93\x01\x02\x03"])]
                if name == "bus":
                    frames = [bus.topic("SAT-01", bus.TC, 0x10), rng.randbytes(40)]
                sock.send_multipart(frames, zmq.NOBLOCK)
        # The sockets stay open until the fleet has counted what they sent: closing a PUSH
        # right after its last send can lose the queued tail on ipc (libzmq issue 4660).

        async def check() -> dict:
            async with Client(fleet.run) as ground:
                handle = await ground.cmd("SAT-01", "EXEC.REPORT_HK", structure="STATUS")
                await handle.await_complete(timeout=300)
                assert handle.is_success(), handle.record
                await ground.wait_check("SAT-01", "EXEC.UPLINK_REJECTED > 10", 300)

                async def link_counted() -> dict:
                    while True:
                        status = await ground.status()
                        if status["link"].get("rejected", 0) > 0:
                            return status
                        await asyncio.sleep(0.2)

                return await asyncio.wait_for(link_counted(), 30)

        status = asyncio.run(check())
        for sock in (*opened.values(), sub):
            sock.close()
        assert status["counters"]["bad_requests"] >= MESSAGES // 2
        assert status["link"]["rejected"] > 0
        for name, process in [("ground", fleet.extra[0]), ("link", fleet.extra[1]),
                              *fleet.satellites.items()]:
            assert process.poll() is None, f"{name} died"
    finally:
        context.destroy(0)
        fleet.stop()
