"""Packets decoded once per process, however many of its apps receive them.

Apps that share a process each keep their own bus subscription, so a packet that several of
them take arrives once per app: the hardware's sensor reports reach housekeeping, the compute
manager and fault protection, and every app's telemetry both housekeeping (the recorder) and
fault protection (events). Checking a packet and reading its values by the dictionary is done
by the first of them; the others find the result here, keyed by the packet's bytes (the copies
each app receives are equal, not the same object). It is on only where several apps of one
satellite share the process (:func:`flight.framework.runtime.host_apps`): elsewhere it would
never be hit, and every packet would pay for being remembered.

What is kept is shared between apps: read it, never change it. Only packets that decoded are
kept; a bad one fails, and is counted, in every app that receives it.
"""

from __future__ import annotations

from common.dictionary import DICTIONARY
from common.dictionary.registry import DecodedTm
from common.packets import Packet, TmPacket, decode

#: Packets a generation of the memo holds. The apps of a process read their sockets one after
#: the other at each wake-up, so a packet is looked for again behind everything the apps before
#: took in that wake: at 100x with 10 simulated seconds per wake, a process of four satellites
#: reads ~500 packets per app. Two generations keep between one and two of these.
MEMO_SIZE = 2048


class DecodeMemo:
    """Decoded packets and telemetry values, by the packet's bytes.

    Two generations: when the newer is full, it becomes the older and the oldest is dropped,
    so what was remembered just before is still there for the rest of the wake-up (a memo
    emptied when full forgot, at the worst moment, what the next app was about to look for).
    """

    def __init__(self, size: int = MEMO_SIZE, sharing: bool = False) -> None:
        self.size = size
        #: Whether anything is remembered (off: a plain decode).
        self.sharing = sharing
        self._packets: dict[bytes, Packet] = {}
        self._older_packets: dict[bytes, Packet] = {}
        #: By the packet object's id (the apps of a hit share the object ``packet`` gave them;
        #: hashing the named tuple, bytes and time and all, cost more than the rest of a hit),
        #: with the packet, which keeps the id from being reused while it is remembered.
        self._values: dict[int, tuple[TmPacket, DecodedTm]] = {}
        self._older_values: dict[int, tuple[TmPacket, DecodedTm]] = {}
        self.decoded = 0
        self.hits = 0

    def packet(self, data: bytes) -> Packet:
        """:func:`common.packets.decode` of ``data`` (known APIDs only); raises as it does."""
        if not self.sharing:
            return decode(data, DICTIONARY.apids)
        found = self._packets.get(data)
        if found is None:
            found = self._older_packets.get(data)
        if found is not None:
            self.hits += 1
            return found
        found = decode(data, DICTIONARY.apids)
        self.decoded += 1
        if len(self._packets) >= self.size:
            self._older_packets, self._packets = self._packets, {}
        self._packets[data] = found
        return found

    def tm(self, packet: TmPacket) -> DecodedTm:
        """:meth:`Dictionary.decode_tm` of ``packet``; raises as it does."""
        if not self.sharing:
            return DICTIONARY.decode_tm(packet)
        key = id(packet)
        kept = self._values.get(key)
        if kept is None:
            kept = self._older_values.get(key)
        if kept is not None and kept[0] is packet:
            return kept[1]
        found = DICTIONARY.decode_tm(packet)
        if len(self._values) >= self.size:
            self._older_values, self._values = self._values, {}
        self._values[key] = (packet, found)
        return found


#: The memo of this process (each forked process starts with its own, empty).
DECODED = DecodeMemo()
