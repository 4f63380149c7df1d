"""The onboard recorder: a packet store on disk that survives restarts and ``kill -9``.

Packets are appended, whole, to segment files (``seg-00000001.pkt``, ...) with unbuffered
``os.write`` calls, so that what was written is in the kernel's hands even if the process is
killed the next instant. At start the segments are scanned: a torn tail — a packet cut short by
a crash, or bytes that are no whole packet with a good CRC (a file extended with zeros by a
power loss) — is truncated away, with everything after it, and the per-APID sequence counts of
the last packets recorded are recovered. A write that fails (disk full) is undone the same way,
so that the file never holds half a packet that later packets would follow.

The store is bounded and never holds more than its limit: past it, it either drops its oldest
segments (``wrap``) or refuses new packets (``stop``), counting every packet so lost in
``overflows``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common.cuc import EPOCH_1958_TO_1970_S, tai_minus_utc
from common.files import files_named
from common.framing import iter_frames
from common.packets import crc_ok, peek_apid, peek_seq_count, peek_tm_time

SEGMENT_PREFIX = "seg-"
SEGMENT_SUFFIX = ".pkt"
MAX_SEGMENT_BYTES = 4 * 1024 * 1024


@dataclass
class Segment:
    """What the store knows of one segment file."""

    number: int
    path: Path
    packets: int = 0
    size: int = 0
    first_tai: float = float("inf")
    last_tai: float = float("-inf")


@dataclass
class StoreStats:
    """Counters for housekeeping."""

    packets: int = 0
    size: int = 0
    overflows: int = 0
    torn_bytes: int = 0
    #: Appends that failed on the disk (their packets are counted in ``overflows``).
    write_errors: int = 0
    per_apid_last: dict[int, int] = field(default_factory=dict)


def unix_to_tai(unix_s: float) -> float:
    """TAI seconds since 1958 of a Unix time (the time scale of packet time stamps)."""
    return unix_s + EPOCH_1958_TO_1970_S + tai_minus_utc(unix_s)


class PacketStore:
    """An append-only, bounded packet store in ``directory``."""

    def __init__(self, directory: Path, limit_bytes: int, wrap: bool = True) -> None:
        self.directory = directory
        self.limit_bytes = limit_bytes
        self.wrap = wrap
        self.stats = StoreStats()
        self.segments: list[Segment] = []
        self._fd = -1
        directory.mkdir(parents=True, exist_ok=True)
        self._recover()

    @property
    def segment_bytes(self) -> int:
        """Segment size: small enough that dropping one frees a fraction of the limit."""
        return max(64 * 1024, min(MAX_SEGMENT_BYTES, self.limit_bytes // 8))

    # --- start-up ---------------------------------------------------------------------------------

    def _recover(self) -> None:
        paths = sorted(files_named(self.directory, SEGMENT_PREFIX, SEGMENT_SUFFIX))
        for path in paths:
            number = int(path.name[len(SEGMENT_PREFIX):-len(SEGMENT_SUFFIX)])
            segment = Segment(number, path)
            data = path.read_bytes()
            end = 0
            for frame in iter_frames(data):
                if not crc_ok(frame.data):
                    break  # not a packet we wrote whole: the torn tail starts here
                end = frame.offset + len(frame.data)
                self._index(segment, (frame.data,))
            if end != len(data):
                # A packet cut short by a crash: keep what is whole.
                self.stats.torn_bytes += len(data) - end
                os.truncate(path, end)
            segment.size = end
            self.segments.append(segment)
            self.stats.packets += segment.packets
            self.stats.size += segment.size
        if not self.segments:
            self.segments.append(Segment(1, self._path(1)))
        self._open(self.segments[-1])

    def _path(self, number: int) -> Path:
        return self.directory / f"{SEGMENT_PREFIX}{number:08d}{SEGMENT_SUFFIX}"

    def _open(self, segment: Segment) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _index(self, segment: Segment, packets: Sequence[bytes]) -> None:
        """Count ``packets`` into ``segment``: their time span, each APID's last count."""
        first, last = segment.first_tai, segment.last_tai
        last_count = self.stats.per_apid_last
        for packet in packets:
            if len(packet) >= 19 and not packet[0] & 0x10:
                tai = peek_tm_time(packet)
                if tai < first:
                    first = tai
                if tai > last:
                    last = tai
            last_count[peek_apid(packet)] = peek_seq_count(packet)
        segment.first_tai, segment.last_tai = first, last
        segment.packets += len(packets)

    # --- recording -------------------------------------------------------------------------------

    def append(self, packets: list[bytes]) -> int:
        """Record ``packets`` (whole, valid packets); return how many were stored."""
        if not packets:
            return 0
        data = b"".join(packets)
        needed = len(data)
        full = self.stats.size + needed > self.limit_bytes
        if full and (not self.wrap or needed > self.limit_bytes):
            self.stats.overflows += len(packets)
            return 0
        segment = self.segments[-1]
        if segment.size and segment.size + needed > self.segment_bytes:
            segment = self._rotate()
        if full:
            segment = self._make_room(needed)
        try:
            written = 0
            view = memoryview(data)
            while written < needed:
                written += os.write(self._fd, view[written:])
        except OSError:
            # Undo a partial write: later packets must not follow half a packet.
            self.stats.write_errors += 1
            self.stats.overflows += len(packets)
            try:
                os.ftruncate(self._fd, segment.size)
            except OSError:
                pass  # at the next start the torn tail is cut there anyway
            return 0
        self._index(segment, packets)
        segment.size += needed
        self.stats.packets += len(packets)
        self.stats.size += needed
        return len(packets)

    def _rotate(self) -> Segment:
        last = self.segments[-1]
        segment = Segment(last.number + 1, self._path(last.number + 1))
        self.segments.append(segment)
        self._open(segment)
        return segment

    def _make_room(self, needed: int) -> Segment:
        """Drop the oldest segments until ``needed`` more bytes fit (``needed`` <= limit)."""
        while self.stats.size + needed > self.limit_bytes:
            if len(self.segments) == 1:
                self._rotate()  # the segment being written must go too
            oldest = self.segments.pop(0)
            oldest.path.unlink(missing_ok=True)
            self.stats.overflows += oldest.packets
            self.stats.packets -= oldest.packets
            self.stats.size -= oldest.size
        return self.segments[-1]

    def set_limit(self, limit_bytes: int, wrap: bool | None = None) -> None:
        """Change the size limit (applied at the next append)."""
        self.limit_bytes = limit_bytes
        if wrap is not None:
            self.wrap = wrap

    # --- playback --------------------------------------------------------------------------------

    def query(self, start_unix: float, end_unix: float) -> Iterator[bytes]:
        """Every recorded TM packet whose time lies in [start, end], in recording order."""
        start, end = unix_to_tai(start_unix), unix_to_tai(end_unix)
        for segment in list(self.segments):
            if segment.last_tai < start or segment.first_tai > end:
                continue
            try:
                data = segment.path.read_bytes()[: segment.size]
            except FileNotFoundError:
                continue  # dropped by the overflow policy meanwhile
            for frame in iter_frames(data):
                packet = frame.data
                if len(packet) >= 19 and not packet[0] & 0x10 and (
                        start <= peek_tm_time(packet) <= end):
                    yield packet

    def count(self, start_unix: float, end_unix: float) -> int:
        """How many packets ``query`` would give."""
        return sum(1 for _ in self.query(start_unix, end_unix))

    def close(self) -> None:
        """Flush to disk and close."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
