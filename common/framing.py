"""Split a byte stream of concatenated space packets; packets carry their own length.

>>> from common.packets import TcPacket, encode, idle_packet
>>> one = encode(TcPacket(apid=0x10, service=17, subtype=1))
>>> packets, rest = split_stream(one + idle_packet() + one + one[:3])
>>> len(packets), rest == one[:3]
(2, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from common.packets import IDLE_APID, PRIMARY_HEADER_LEN


class Framed(NamedTuple):
    """One packet cut from a stream, with its byte offset in that stream."""

    offset: int
    data: bytes


def _end_of(data: bytes, offset: int, size: int) -> int:
    """Where the packet at ``offset`` ends, or -1 when ``data`` stops before it does."""
    if size - offset < PRIMARY_HEADER_LEN:
        return -1
    end = offset + ((data[offset + 4] << 8) | data[offset + 5]) + PRIMARY_HEADER_LEN + 1
    return end if end <= size else -1


def iter_frames(data: bytes, start: int = 0) -> Iterator[Framed]:
    """Yield every complete packet (idle ones included) from ``start``; stop at a partial tail."""
    size = len(data)
    offset = start
    while (end := _end_of(data, offset, size)) >= 0:
        yield Framed(offset, data[offset:end])
        offset = end


def cut(data: bytes) -> tuple[list[bytes], int]:
    """Every complete packet of ``data`` (idle ones included), and where the last one ends:
    :func:`iter_frames` in one list, without a generator and a named tuple per packet, whose
    making took more than the cutting on the bus's hot path."""
    packets: list[bytes] = []
    size = len(data)
    offset = 0
    while (end := _end_of(data, offset, size)) >= 0:
        packets.append(data[offset:end])
        offset = end
    return packets, offset


def is_idle(packet: bytes) -> bool:
    """True for an idle packet (APID 0x7FF)."""
    return ((packet[0] & 0x7) << 8 | packet[1]) == IDLE_APID


class PacketFramer:
    """Incremental splitter for a byte stream that arrives in pieces.

    ``feed`` returns the complete non-idle packets with their offsets in the whole stream and
    keeps any partial tail for the next call. Idle packets are counted in ``idle_packets``.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._consumed = 0
        self.idle_packets = 0
        self.packets = 0

    def feed(self, chunk: bytes) -> list[Framed]:
        """Add bytes; return the packets completed by them."""
        data = self._buffer + chunk if self._buffer else chunk
        out: list[Framed] = []
        end = 0
        for frame in iter_frames(data):
            end = frame.offset + len(frame.data)
            if is_idle(frame.data):
                self.idle_packets += 1
                continue
            out.append(Framed(self._consumed + frame.offset, frame.data))
        self.packets += len(out)
        self._buffer = data[end:]
        self._consumed += end
        return out

    @property
    def remainder(self) -> bytes:
        """Bytes received that do not yet form a whole packet."""
        return self._buffer


def split_stream(data: bytes) -> tuple[list[bytes], bytes]:
    """Split concatenated packets: (complete non-idle packets, unconsumed remainder)."""
    framer = PacketFramer()
    packets = [frame.data for frame in framer.feed(data)]
    return packets, framer.remainder
