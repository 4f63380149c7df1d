"""A minimal ground side for process-level tests: talk to one satellite's radio directly.

Pushes telecommands into the uplink and subscribes to the downlink, decoding what comes down
with the dictionary. Waits are bounded in wall time so that a failing test ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from common.curve import Curve
from common.dictionary import DICTIONARY, DecodedTm
from common.dictionary.standard import request_of
from common.endpoints import Endpoints
from common.framing import iter_frames
from common.packets import TcPacket, TmPacket, decode, encode
from common.radio import RadioFrame
from common.runconfig import RunConfig
from common.sdls import Signer, read_key_file
from common.sequence import SequenceCounter

#: Source ID of this test set's telecommands: not ground control's, so that verification
#: reports addressed to one are never taken for the other's.
TEST_SET_ID = 2


class Received:
    """One telemetry packet that came down, decoded."""

    def __init__(self, packet: TmPacket, tm: DecodedTm | None) -> None:
        self.packet = packet
        self.tm = tm

    @property
    def kind(self) -> tuple[int, int]:
        return self.packet.service, self.packet.subtype

    def __repr__(self) -> str:
        name, values = (self.tm.name, self.tm.values) if self.tm else ("?", None)
        return f"TM[{self.packet.service},{self.packet.subtype}] {name} {values}"


class GroundSide:
    """Uplink PUSH + downlink SUB for one satellite."""

    def __init__(self, run: RunConfig, satellite: str) -> None:
        self.satellite = satellite
        self.signer: Signer | None = None
        if run.key_file:
            keys = read_key_file(Path(run.key_file))[satellite]
            self.signer = Signer(satellite, keys, min(keys))
        self.context = zmq.Context()
        endpoints = Endpoints(run)
        curve = Curve(run, "operator")
        self.up = self.context.socket(zmq.PUSH)
        self.up.setsockopt(zmq.LINGER, 0)
        curve.connect_to(self.up, satellite)
        self.up.connect(endpoints.uplink(satellite))
        self.down = self.context.socket(zmq.SUB)
        self.down.setsockopt(zmq.LINGER, 0)
        self.down.setsockopt(zmq.SUBSCRIBE, b"")
        curve.connect_to(self.down, satellite)
        self.down.connect(endpoints.downlink(satellite))
        self.seq = SequenceCounter()
        self.received: list[Received] = []

    def close(self) -> None:
        self.context.destroy(0)

    def send_raw(self, data: bytes, spacecraft: str | None = None) -> None:
        frame = RadioFrame(spacecraft or self.satellite, 0, data)
        self.up.send_multipart(frame.to_multipart())

    def send(self, name: str, **args: Any) -> TcPacket:
        command = DICTIONARY.command(name)
        tc = DICTIONARY.encode_command(name, args, seq_count=self.seq.next(command.apid),
                                       source_id=TEST_SET_ID)
        raw = encode(tc)
        self.send_raw(self.signer.sign(raw) if self.signer else raw)
        return tc

    def poll(self, wall_s: float = 0.05) -> list[Received]:
        """Receive what has come down within ``wall_s``."""
        new: list[Received] = []
        deadline = time.monotonic() + wall_s
        while (remaining := deadline - time.monotonic()) > 0:
            if not self.down.poll(remaining * 1000):
                break
            frame = RadioFrame.from_multipart(self.down.recv_multipart())
            if frame.in_transit:
                continue  # a frame in transit through this satellite, not its telemetry
            for framed in iter_frames(frame.packets):
                packet = decode(framed.data)
                assert isinstance(packet, TmPacket)
                try:
                    tm = DICTIONARY.decode_tm(packet)
                except Exception:
                    tm = None
                new.append(Received(packet, tm))
        self.received.extend(new)
        return new

    def wait_for(self, predicate: Callable[[Received], bool], wall_s: float = 10.0,
                 since: int = 0) -> Received:
        """The first packet (from index ``since`` of everything received) that matches."""
        deadline = time.monotonic() + wall_s
        index = since
        while True:
            while index < len(self.received):
                item = self.received[index]
                index += 1
                if predicate(item):
                    return item
            if time.monotonic() > deadline:
                kinds = [repr(r) for r in self.received[since:][-10:]]
                raise AssertionError(f"nothing matched within {wall_s} s; last: {kinds}")
            self.poll(0.05)

    def ping_until_alive(self, name: str = "EXEC.PING", wall_s: float = 20.0) -> TcPacket:
        """Send pings until one is answered (PUB/SUB joins take a moment): readiness, not sleep."""
        deadline = time.monotonic() + wall_s
        while time.monotonic() < deadline:
            tc = self.send(name)
            start = len(self.received)
            self.poll(0.2)
            for item in self.received[start:]:
                if item.kind == (17, 2) and item.packet.apid == tc.apid:
                    return tc
        raise AssertionError(f"{self.satellite} did not answer {name} within {wall_s} s")


    def command(self, name: str, **args: Any) -> int:
        """Send telecommand ``name`` and wait for its completion report TM[1,7]; return the
        index in ``received`` from which to look for what it caused."""
        start = len(self.received)
        tc = self.send(name, **args)
        self.wait_for(verification(tc, 7), since=start)
        return start

    def ping(self, app: str) -> TcPacket:
        """``APP.PING``, answered: its TM[17,2] and its completion report TM[1,7] came down."""
        start = len(self.received)
        tc = self.send(f"{app}.PING")
        self.wait_for(lambda r: r.kind == (17, 2) and r.packet.apid == tc.apid, since=start)
        self.wait_for(verification(tc, 7), since=start)
        return tc


def verification(tc: TcPacket, subtype: int) -> Callable[[Received], bool]:
    """Matches the PUS 1 report ``subtype`` about ``tc``."""

    def match(item: Received) -> bool:
        if item.kind != (1, subtype) or item.tm is None:
            return False
        values = item.tm.values
        return request_of(values["packet_id"], values["sequence"]) == tc.request_id

    return match


def eventually(what: str, probe: Callable[[], Any], wall_s: float = 30.0) -> Any:
    """Ask ``probe`` again until it answers something true, and return that (bounded in wall
    time: fail saying what was awaited)."""
    deadline = time.monotonic() + wall_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {wall_s} s"
        time.sleep(0.1)
