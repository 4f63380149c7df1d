"""One direction of a satellite's radio link: a queue drained at the link's data rate.

A packet offered to a pipe may be lost (seeded, per packet) or corrupted (one bit flipped, so
that the receiver's CRC check fails), and otherwise waits behind what is already queued: it
leaves the radio when the bytes ahead of it have gone at the data rate, and arrives one light
time later. A backlog beyond the bound is dropped and counted. Every outcome is counted by
cause, per station, for the link's statistics.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LinkStats:
    """Counters of one (station, satellite, direction) link."""

    packets: int = 0
    bytes: int = 0
    corrupted: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        """Plain data for the statistics message."""
        return {"packets": self.packets, "bytes": self.bytes, "corrupted": self.corrupted,
                "dropped": dict(self.dropped)}


class Pipe:
    """A rate-limited, lossy direction of a link."""

    def __init__(self, rate_bps: float, loss: float, corruption: float, backlog_bytes: int,
                 rng: random.Random) -> None:
        self.rate_bps = rate_bps
        self.loss = loss
        self.corruption = corruption
        self.backlog_bytes = backlog_bytes
        self.rng = rng
        self.busy_until = 0.0
        self.stats: dict[str, LinkStats] = {}

    def counters(self, station: str) -> LinkStats:
        """The counters of this direction through ``station``."""
        stats = self.stats.get(station)
        if stats is None:
            stats = self.stats[station] = LinkStats()
        return stats

    def drop(self, station: str, cause: str, count: int = 1) -> None:
        """Count packets dropped for ``cause``."""
        self.counters(station).dropped[cause] += count

    def offer(self, packets: list[bytes], now: float, station: str, loss: float | None = None,
              corruption: float | None = None) -> list[tuple[float, bytes]]:
        """Queue ``packets``; return (time each leaves the radio, bytes as they will arrive).

        ``loss`` and ``corruption``, when given, replace the pipe's own probabilities.
        """
        stats = self.counters(station)
        loss = self.loss if loss is None else loss
        corruption = self.corruption if corruption is None else corruption
        out: list[tuple[float, bytes]] = []
        start = max(now, self.busy_until)
        queued = (start - now) * self.rate_bps / 8
        for packet in packets:
            if loss and self.rng.random() < loss:
                stats.dropped["loss"] += 1
                continue
            if queued + len(packet) > self.backlog_bytes:
                stats.dropped["overflow"] += 1
                continue
            if corruption and self.rng.random() < corruption:
                flipped = bytearray(packet)
                bit = self.rng.randrange(len(flipped) * 8)
                flipped[bit // 8] ^= 1 << (bit % 8)
                packet = bytes(flipped)
                stats.corrupted += 1
            start += len(packet) * 8 / self.rate_bps
            queued += len(packet)
            out.append((start, packet))
        if out:
            self.busy_until = start
        return out

    def delivered(self, station: str, packet: bytes) -> None:
        """Count a packet that reached the other end."""
        stats = self.counters(station)
        stats.packets += 1
        stats.bytes += len(packet)
