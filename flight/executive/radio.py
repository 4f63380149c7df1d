"""The satellite's radio: telecommands from the uplink onto the bus, telemetry to the downlink.

The uplink is a PULL socket (the space link pushes radio frames into it); the downlink a PUB
socket (whoever listens — the space link, a test — subscribes; nobody listening is a radio
transmitting to no ground station, and the onboard recorder is what keeps the data). Every
uplinked packet is checked (framing, CRC, APID, TC type) before it reaches the bus; what fails
is counted and evented, never forwarded.

The radio is also the satellite's router: a frame that arrives tagged for another destination
(another satellite, or the ground, on its way through this one) goes out again, untouched, over
the inter-satellite link terminal (the downlink socket, where the space network picks it up).
Such frames are opaque here — a telecommand for another satellite is protected with that
satellite's key — and are counted, not inspected.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from common.curve import Curve
from common.dictionary import DICTIONARY, RejectReason
from common.errors import PacketError
from common.framing import iter_frames
from common.packets import TcPacket, decode
from common.radio import GROUND, REALTIME, FrameError, RadioFrame, RouteTag
from common.sdls import SecurityError, Verifier, read_key_file
from common.zmqloop import NOBLOCK, Readable, each_message, send_parts

if TYPE_CHECKING:
    from flight.executive.app import Executive

#: Frames the downlink queues for a slow listener before ZeroMQ drops (radio: no flow control).
DOWNLINK_HWM = 10_000


class Radio:
    """Uplink receiver and downlink transmitter of one satellite."""

    def __init__(self, executive: Executive) -> None:
        self.exe = executive
        context = executive.runtime.context
        endpoints = executive.runtime.endpoints
        self.curve = Curve(executive.runtime.run, executive.satellite)
        self.uplink = context.socket(zmq.PULL)
        self.uplink.setsockopt(zmq.LINGER, 0)
        self.curve.serve(context, self.uplink)
        self.uplink.bind(endpoints.uplink(executive.satellite))
        self.downlink_socket = context.socket(zmq.PUB)
        self.downlink_socket.setsockopt(zmq.LINGER, 0)
        self.downlink_socket.setsockopt(zmq.SNDHWM, DOWNLINK_HWM)
        self.curve.serve(context, self.downlink_socket)
        self.downlink_socket.bind(endpoints.downlink(executive.satellite))
        self._readable = Readable(self.uplink, each_message(
            self.uplink, self._frame,
            lambda _m, exc: self._reject(RejectReason.BAD_MESSAGE, f"unhandled: {exc!r}"), 500))
        self.verifier = _verifier(executive)
        self.auth_rejected = 0
        self._batch: dict[int, list[bytes]] = {}
        self._flush_scheduled = False
        self.uplink_packets = 0
        self.uplink_rejected = 0
        self.downlink_packets = 0
        self.forwarded_frames = 0
        self.forwarded_bytes = 0

    # --- uplink ----------------------------------------------------------------------------------

    def _frame(self, message: list[bytes]) -> None:
        try:
            frame = RadioFrame.from_multipart(message)
        except FrameError as exc:
            self._reject(RejectReason.BAD_MESSAGE, str(exc))
            return
        if frame.tag is not None and frame.tag.dst != self.exe.satellite:
            self._forward(message, len(frame.packets))
            return
        if frame.spacecraft != self.exe.satellite:
            self._reject(RejectReason.BAD_TOPIC, f"frame for {frame.spacecraft!r}")
            return
        payload = frame.packets
        if self.verifier is not None:
            # Authentication comes before anything else: one protected telecommand per frame.
            try:
                _spi, _arsn, payload = self.verifier.verify(payload)
            except SecurityError as refused:
                self.auth_rejected += 1
                self.exe.reject(RejectReason.NOT_AUTHENTICATED, str(refused),
                                event="AUTH_REJECTED", reason_arg=refused.reason.name,
                                count=self.auth_rejected)
                return
        end = 0
        for framed in iter_frames(payload):
            end = framed.offset + len(framed.data)
            self._packet(framed.data)
        if end != len(payload):
            self._reject(RejectReason.TOO_SHORT, f"{len(payload) - end} trailing bytes")

    def _forward(self, message: list[bytes], size: int) -> None:
        """Send a frame in transit on over the inter-satellite link, as it came."""
        try:
            send_parts(self.downlink_socket, message, NOBLOCK)
        except zmq.Again:  # pragma: no cover - PUB drops rather than blocks
            return
        self.forwarded_frames += 1
        self.forwarded_bytes += size

    def _packet(self, data: bytes) -> None:
        try:
            packet = decode(data, DICTIONARY.apids)
        except PacketError as exc:
            if exc.reason != "idle":
                self._reject(RejectReason.of(exc), str(exc))
            return
        if not isinstance(packet, TcPacket):
            self._reject(RejectReason.WRONG_PACKET_TYPE, "telemetry on the uplink")
            return
        self.uplink_packets += 1
        self.exe.command_received()
        self.exe.gate.route(packet, data, self.exe.clock.now())

    def _reject(self, reason: RejectReason, detail: str) -> None:
        self.uplink_rejected += 1
        self.exe.reject(reason, detail, event="UPLINK_REJECTED")

    # --- downlink --------------------------------------------------------------------------------

    def transmit(self, packets: bytes, vc: int = REALTIME, count: int = 1) -> None:
        """Queue ``count`` concatenated packets for the downlink; a frame per virtual channel
        leaves per iteration."""
        self._batch.setdefault(vc, []).append(packets)
        self.downlink_packets += count
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Send the queued packets."""
        self._flush_scheduled = False
        batch, self._batch = self._batch, {}
        # Stamped with the time it leaves the radio (the space link may read it later).
        sent = RouteTag(GROUND, (), self.exe.runtime.clock.now()) if batch else None
        for vc, packets in batch.items():
            frame = RadioFrame(self.exe.satellite, vc, b"".join(packets), sent)
            try:
                send_parts(self.downlink_socket, frame.to_multipart(), NOBLOCK)
            except zmq.Again:  # pragma: no cover - PUB drops rather than blocks
                pass

    def close(self) -> None:
        """Close both sockets."""
        self._readable.close()
        self.flush()
        self.uplink.close(0)
        self.downlink_socket.close(0)
        self.curve.close()

    def counters(self) -> dict[str, Any]:
        """Radio counters for housekeeping."""
        return {"UPLINK_PACKETS": self.uplink_packets, "UPLINK_REJECTED": self.uplink_rejected,
                "DOWNLINK_PACKETS": self.downlink_packets, "AUTH_REJECTED": self.auth_rejected,
                "ACTIVE_SPI": self.verifier.active if self.verifier else 0,
                "FORWARDED_FRAMES": self.forwarded_frames & 0xFFFFFFFF,
                "FORWARDED_BYTES": self.forwarded_bytes & 0xFFFFFFFF}


def _verifier(executive: Executive) -> Verifier | None:
    """The satellite's telecommand verifier, when the run has keys."""
    run = executive.runtime.run
    if not run.key_file:
        return None
    keys = read_key_file(Path(run.key_file))[executive.satellite]
    return Verifier(executive.satellite, keys, active=min(keys),
                    state_file=run.satellite_dir(executive.satellite) / "security.json")
