"""The archive's parameter values: one series per satellite and parameter, kept in segments.

Ground control meets every value of every housekeeping packet it ingests: eight structures of
~150 values per satellite and simulated second. Stored as a row each, they were most of what
ingest cost (one B-tree insertion per value, ~1.5 µs each, and the Python building the rows).
So the writer keeps each series' new values in memory and writes them together, as a
*segment*, whenever the archive is committed (ground control commits every half wall second).
A segment holds up to SEGMENT_VALUES values as msgpack, ``[time, packet id, value]`` one after
another, with its first and last time beside it, so that a reader fetches only the segments
that overlap the span it asks for. When values come a few per commit (a slow run), the last
segment of a series takes them at its end until it is full, so that a value still costs about
its own bytes, not a row; when they come fast (a high rate, a playback), a commit's values of a
series make one segment, however many.

The writer keeps a packet's values as they came, one row per packet, and turns them into
series only when it writes them (a transposition done in C, not a step per value). What is
committed is what readers see, as before; the writer's own readings write its pending values
first. A value is stored as msgpack keeps it: numbers, text, bytes, flags, nothing and lists as
they are, anything else as its text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import msgpack

#: Values a segment may hold and still take more.
SEGMENT_VALUES = 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    satellite TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (satellite, name)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    series INTEGER NOT NULL REFERENCES series (id),
    first REAL NOT NULL,           -- the earliest value's time, Unix seconds (simulated)
    last REAL NOT NULL,            -- the latest value's time
    count INTEGER NOT NULL,
    data BLOB NOT NULL             -- msgpack: [time, packet id, value], one after another
);
CREATE INDEX IF NOT EXISTS segments_by_series ON segments (series, last);
"""

#: A stored value: (time, packet id, value).
Point = tuple[float, int, Any]


def _text(value: Any) -> Any:
    """``value`` if msgpack keeps it and reads it back, else its text (UTF-8 safe)."""
    if value is None or (isinstance(value, bool | int | float | bytes) and (
            not isinstance(value, int) or -(1 << 63) <= value < 1 << 64)):
        return value
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _Reports:
    """The pending reports of one satellite's structure (one set of parameter names): its
    series, and (time, packet id, values in the order of the names) of each report."""

    __slots__ = ("rows", "series")

    def __init__(self, series: list[int]) -> None:
        self.series = series
        self.rows: list[tuple[float, int, tuple[Any, ...]]] = []


class _Segment:
    """The writer's copy of a series' open segment: its row, last time, count and data."""

    __slots__ = ("body", "count", "last", "row")

    def __init__(self, row: int, last: float, count: int, body: bytes) -> None:
        self.row, self.last, self.count, self.body = row, last, count, body

    def extend(self, last: float, count: int, body: bytes) -> None:
        self.last, self.count, self.body = last, self.count + count, self.body + body


class SeriesStore:
    """The parameter series of one archive file: written by one writer, read by any."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        #: Pending reports by satellite and parameter names, in the order they were met.
        self._pending: dict[tuple[str, tuple[str, ...]], _Reports] = {}
        #: Each series' open segment: the last written, while it may grow.
        self._open: dict[int, _Segment] = {}

    # --- writing ---------------------------------------------------------------------------------

    def add(self, packet_id: int, satellite: str, time: float, values: Mapping[str, Any]
            ) -> None:
        """Keep the values of one packet, to be written at the next :meth:`flush`.

        Kept as the packet's row: a report of the same names from the same satellite joins
        the others, and the values are turned into series only when written."""
        key = (satellite, tuple(values))
        reports = self._pending.get(key)
        if reports is None:
            reports = self._pending[key] = _Reports([self._series(satellite, name)
                                                     for name in key[1]])
        reports.rows.append((time, packet_id, tuple(values.values())))

    def _series(self, satellite: str, name: str) -> int:
        self.db.execute("INSERT OR IGNORE INTO series (satellite, name) VALUES (?,?)",
                        (satellite, name))
        series = self.series_id(satellite, name)
        assert series is not None
        return series

    def flush(self) -> None:
        """Write every series' pending values (inside the current transaction).

        A series' values go to the end of its open segment, the last one written for it, while
        that holds fewer than SEGMENT_VALUES and they all come after it; otherwise they start
        a new segment. A segment is thus written once when values come fast, and rewritten a
        few times, growing, when they come a few per commit."""
        updates: list[tuple[float, int, bytes, int]] = []
        for reports in self._pending.values():
            if not reports.rows:
                continue
            times, packets, rows = zip(*reports.rows, strict=True)
            first, last, count = min(times), max(times), len(times)
            for series, column in zip(reports.series, zip(*rows, strict=True), strict=True):
                body = _pack(times, packets, column)
                segment = self._open.get(series)
                if segment is not None and segment.count + count <= SEGMENT_VALUES \
                        and first >= segment.last:
                    segment.extend(last, count, body)
                    updates.append((segment.last, segment.count, segment.body, segment.row))
                    if segment.count >= SEGMENT_VALUES:
                        del self._open[series]  # full: the next values start another
                    continue
                row = self.db.execute(
                    "INSERT INTO segments (series, first, last, count, data) VALUES (?,?,?,?,?)",
                    (series, first, last, count, body)).lastrowid
                assert row is not None
                if count < SEGMENT_VALUES:
                    self._open[series] = _Segment(row, last, count, body)
                else:
                    self._open.pop(series, None)
            reports.rows.clear()
        if updates:
            self.db.executemany("UPDATE segments SET last = ?, count = ?, data = ? WHERE id = ?",
                                updates)

    # --- reading ---------------------------------------------------------------------------------

    def series_id(self, satellite: str, name: str) -> int | None:
        """The id of a satellite's series of ``name``, if it has one."""
        row = self.db.execute("SELECT id FROM series WHERE satellite = ? AND name = ?",
                              (satellite, name)).fetchone()
        return None if row is None else int(row[0])

    def points(self, satellite: str, name: str, start: float | None = None,
               end: float | None = None) -> list[Point]:
        """(time, packet id, value) of a parameter within [start, end], in time order."""
        self.flush()
        series = self.series_id(satellite, name)
        if series is None:
            return []
        sql = "SELECT data FROM segments WHERE series = ?"
        args: list[float] = [series]
        if start is not None:
            sql, args = sql + " AND last >= ?", [*args, start]
        if end is not None:
            sql, args = sql + " AND first <= ?", [*args, end]
        low = float("-inf") if start is None else start
        high = float("inf") if end is None else end
        found: list[Point] = [
            (point[0], point[1], point[2]) for (data,) in self.db.execute(sql, args)
            for point in _unpack(data) if low <= point[0] <= high]
        found.sort(key=_time_and_packet)
        return found

    def latest(self, satellite: str, name: str) -> Point | None:
        """The most recent (time, packet id, value) of a parameter."""
        self.flush()
        series = self.series_id(satellite, name)
        if series is None:
            return None
        # One statement: a reader in another process sees the file at one moment, whatever the
        # writer commits meanwhile.
        rows = self.db.execute(
            "SELECT last, data FROM segments WHERE series = ? AND last = "
            "(SELECT MAX(last) FROM segments WHERE series = ?)", (series, series)).fetchall()
        newest: list[Point] = [(point[0], point[1], point[2]) for last, data in rows
                               for point in _unpack(data) if point[0] == last]
        return max(newest, key=_time_and_packet) if newest else None

    def highest(self, satellite: str, names: Iterable[str]) -> list[tuple[float, Any]]:
        """At each time any of the parameters ``names`` has a number, the highest of them."""
        best: dict[float, float] = {}
        for name in names:
            for time, _packet, value in self.points(satellite, name):
                if isinstance(value, int | float) and not isinstance(value, bool) and (
                        time not in best or value > best[time]):
                    best[time] = value
        return sorted(best.items())


def _time_and_packet(point: Point) -> tuple[float, int]:
    return point[0], point[1]


def _pack(times: tuple[float, ...], packets: tuple[int, ...], values: tuple[Any, ...]) -> bytes:
    """Points as a segment holds them: each [time, packet id, value] in msgpack, one after
    another (so that more can be added at the end). A value msgpack cannot keep — text that
    is not UTF-8, a mapping or anything else — is kept as its text."""
    try:
        packed = msgpack.packb(list(zip(times, packets, values, strict=True)))
    except (TypeError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
        packed = msgpack.packb(list(zip(times, packets, map(_text, values), strict=True)))
    return packed[_array_header(len(times)):]


def _array_header(length: int) -> int:
    """The bytes msgpack puts before the items of an array of ``length``."""
    return 1 if length < 16 else 3 if length < 1 << 16 else 5


def _unpack(data: bytes) -> list[list[Any]]:
    """The points of a segment."""
    unpacker = msgpack.Unpacker(max_buffer_size=max(len(data), 1), strict_map_key=False)
    unpacker.feed(data)
    return list(unpacker)
