"""Per-APID 14-bit sequence counters for senders, and gap counters for receivers."""

from __future__ import annotations

from common.packets import SEQ_COUNT_MODULO


class SequenceCounter:
    """Source sequence counts per APID, wrapping from 16383 to 0.

    >>> counter = SequenceCounter()
    >>> [counter.next(0x10) for _ in range(3)]
    [0, 1, 2]
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def next(self, apid: int) -> int:
        """The count for the next packet of ``apid``."""
        count = self._next.get(apid, 0)
        self._next[apid] = (count + 1) % SEQ_COUNT_MODULO
        return count

    def peek(self, apid: int) -> int:
        """The count the next packet of ``apid`` will carry."""
        return self._next.get(apid, 0)

    def set(self, apid: int, count: int) -> None:
        """Resume a stream at ``count`` (after a restart, from the last count recorded)."""
        self._next[apid] = count % SEQ_COUNT_MODULO


class GapCounter:
    """Counts packets missing from each stream, judged by the 14-bit sequence count.

    A stream is keyed by anything hashable (an APID, or a (satellite, APID) pair). A count that
    jumps ahead adds the packets skipped; one that repeats or goes back (a restart, a duplicate)
    is counted as ``resets`` and resynchronises without inventing a gap.

    >>> gaps = GapCounter()
    >>> [gaps.observe(0x10, n) for n in (0, 1, 4, 5)]
    [0, 0, 2, 0]
    >>> gaps.missing
    2
    """

    __slots__ = ("_expected", "by_stream", "missing", "resets")

    #: A backward jump smaller than this is a duplicate or a restart, not 16k lost packets.
    REORDER_WINDOW = SEQ_COUNT_MODULO // 2

    def __init__(self) -> None:
        self._expected: dict[object, int] = {}
        self.missing = 0
        self.resets = 0
        self.by_stream: dict[object, int] = {}

    def observe(self, stream: object, count: int) -> int:
        """Record one received count; return how many packets went missing just before it."""
        expected = self._expected.get(stream)
        self._expected[stream] = (count + 1) % SEQ_COUNT_MODULO
        if expected is None or count == expected:
            return 0
        skipped = (count - expected) % SEQ_COUNT_MODULO
        if skipped >= self.REORDER_WINDOW:
            self.resets += 1
            return 0
        self.missing += skipped
        self.by_stream[stream] = self.by_stream.get(stream, 0) + skipped
        return skipped

    def forget(self, stream: object) -> None:
        """Drop what is known of ``stream`` (its sender restarted on purpose)."""
        self._expected.pop(stream, None)
