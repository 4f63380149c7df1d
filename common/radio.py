"""Radio frames: how packets cross the space link, with the spacecraft beside them.

Space packets carry no spacecraft identity, so a radio frame is a ZeroMQ multipart message
``[spacecraft, virtual_channel, packets]`` — like a transfer frame's SCID and VCID around its
data field. ``packets`` is one or more whole space packets concatenated. Virtual channel 0 is
real-time telemetry (and all telecommands), 1 is recorder playback.
"""

from __future__ import annotations

from typing import NamedTuple

REALTIME = 0
PLAYBACK = 1
VIRTUAL_CHANNELS = (REALTIME, PLAYBACK)


class FrameError(ValueError):
    """A message that is not a radio frame."""


class RadioFrame(NamedTuple):
    """One radio frame."""

    spacecraft: str
    vc: int
    packets: bytes

    def to_multipart(self) -> list[bytes]:
        """The ZeroMQ frames."""
        return [self.spacecraft.encode("ascii"), bytes((self.vc,)), self.packets]

    @classmethod
    def from_multipart(cls, frames: list[bytes]) -> RadioFrame:
        """Parse received ZeroMQ frames; raises :class:`FrameError`."""
        if len(frames) != 3 or len(frames[1]) != 1 or frames[1][0] not in VIRTUAL_CHANNELS:
            raise FrameError(f"not a radio frame: {len(frames)} parts")
        try:
            spacecraft = frames[0].decode("ascii")
        except UnicodeDecodeError:
            raise FrameError(f"bad spacecraft name {frames[0][:32]!r}") from None
        return cls(spacecraft, frames[1][0], frames[2])
