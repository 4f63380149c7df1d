"""Which packets the recorder still lacks, and asking their senders for them again.

The recorder listens to every telemetry stream of the satellite. ZeroMQ drops for a slow
subscriber, and a restarted recorder misses what was sent while it was down; sequence counts
say exactly what is missing. Every app keeps its last few thousand packets, so the recorder asks
(a NACK on the bus) and records what comes back; what the sender no longer holds is given up
and counted, never silently forgotten.
"""

from __future__ import annotations

from common.packets import SEQ_COUNT_MODULO

#: Missing packets tracked per stream (beyond this, they are counted lost at once).
MAX_MISSING = 4096


class GapFiller:
    """Per-APID bookkeeping of what was recorded and what is still missing."""

    def __init__(self, last_recorded: dict[int, int]) -> None:
        self.expected = {apid: (seq + 1) % SEQ_COUNT_MODULO for apid, seq in last_recorded.items()}
        self.missing: dict[int, set[int]] = {}
        self.repaired = 0
        self.lost = 0

    def live(self, apid: int, seq: int) -> tuple[bool, list[int]]:
        """A live packet arrived: (record it?, sequence counts newly found missing)."""
        holes = self.missing.get(apid)
        if holes and seq in holes:
            holes.discard(seq)
            self.repaired += 1
            return True, []
        expected = self.expected.get(apid)
        self.expected[apid] = (seq + 1) % SEQ_COUNT_MODULO
        if expected is None or seq == expected:
            return True, []
        skipped = (seq - expected) % SEQ_COUNT_MODULO
        if skipped >= SEQ_COUNT_MODULO // 2:
            return True, []  # the sender restarted its count: a new stream, nothing missing
        holes = self.missing.setdefault(apid, set())
        room = max(0, MAX_MISSING - len(holes))
        gap = [(expected + k) % SEQ_COUNT_MODULO for k in range(min(skipped, room))]
        self.lost += skipped - len(gap)
        holes.update(gap)
        return True, gap

    def retransmitted(self, apid: int, seq: int) -> bool:
        """A packet sent again arrived: record it only if it fills a hole."""
        holes = self.missing.get(apid)
        if holes and seq in holes:
            holes.discard(seq)
            self.repaired += 1
            return True
        return False

    def give_up(self) -> int:
        """Count every hole still open as lost (the senders did not have them); return how many."""
        count = sum(len(holes) for holes in self.missing.values())
        self.lost += count
        self.missing.clear()
        return count

    @property
    def open(self) -> int:
        """Holes still waiting for a retransmission."""
        return sum(len(holes) for holes in self.missing.values())
