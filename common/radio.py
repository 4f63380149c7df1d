"""Radio frames: how packets cross the space link, with the spacecraft beside them.

Space packets carry no spacecraft identity, so a radio frame is a ZeroMQ multipart message
``[spacecraft, virtual_channel, packets]`` — like a transfer frame's SCID and VCID around its
data field. ``packets`` is one or more whole space packets concatenated (or one protected
telecommand). Virtual channel 0 is real-time telemetry (and all telecommands), 1 is recorder
playback.

A frame travelling through the space network (through relays or other satellites) carries a
fourth part, its :class:`RouteTag`: where it is going, where it has been, and since when — the
part of a bundle's primary block that an onboard router needs. A satellite that receives a
tagged frame for somebody else forwards it, untouched, over its inter-satellite link. A
sender's own frames (a satellite's telemetry, ground control's telecommands) carry a tag with
an empty path: its ``t0`` is the simulated time the frame was sent.
"""

from __future__ import annotations

from typing import NamedTuple

import msgpack

REALTIME = 0
PLAYBACK = 1
VIRTUAL_CHANNELS = (REALTIME, PLAYBACK)
#: The destination of a frame on its way down.
GROUND = "GROUND"


class FrameError(ValueError):
    """A message that is not a radio frame."""


class RouteTag(NamedTuple):
    """Where a frame in the network is going (a satellite, or ``GROUND``), the way it has come,
    when it entered the network (simulated time), and an id its sender may follow it by."""

    dst: str
    path: tuple[str, ...] = ()
    t0: float = 0.0
    id: int | None = None

    def pack(self) -> bytes:
        """The tag as one msgpack frame."""
        return msgpack.packb([self.dst, list(self.path), self.t0, self.id])

    @classmethod
    def unpack(cls, data: bytes) -> RouteTag:
        """Parse a tag; raises :class:`FrameError`."""
        try:
            dst, path, t0, ident = msgpack.unpackb(data)
            tag = cls(str(dst), tuple(str(p) for p in path), float(t0),
                      None if ident is None else int(ident))
        except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
            raise FrameError(f"bad route tag: {exc}") from None
        if not isinstance(dst, str) or not dst:
            raise FrameError("bad route tag: no destination")
        return tag

    def via(self, *names: str) -> RouteTag:
        """The tag with ``names`` added to the way taken."""
        return self._replace(path=(*self.path, *names))


class RadioFrame(NamedTuple):
    """One radio frame."""

    spacecraft: str
    vc: int
    packets: bytes
    tag: RouteTag | None = None

    @property
    def in_transit(self) -> bool:
        """True for a frame on its way through the network (its tag names a way taken), false
        for a sender's own frame."""
        return self.tag is not None and bool(self.tag.path)

    def to_multipart(self) -> list[bytes]:
        """The ZeroMQ frames."""
        parts = [self.spacecraft.encode("ascii"), bytes((self.vc,)), self.packets]
        if self.tag is not None:
            parts.append(self.tag.pack())
        return parts

    @classmethod
    def from_multipart(cls, frames: list[bytes]) -> RadioFrame:
        """Parse received ZeroMQ frames; raises :class:`FrameError`."""
        if (len(frames) not in (3, 4) or len(frames[1]) != 1
                or frames[1][0] not in VIRTUAL_CHANNELS):
            raise FrameError(f"not a radio frame: {len(frames)} parts")
        try:
            spacecraft = frames[0].decode("ascii")
        except UnicodeDecodeError:
            raise FrameError(f"bad spacecraft name {frames[0][:32]!r}") from None
        tag = RouteTag.unpack(frames[3]) if len(frames) == 4 else None
        return cls(spacecraft, frames[1][0], frames[2], tag)
