"""CCSDS Unsegmented Time Code (CUC), 4 bytes coarse + 2 bytes fine, TAI epoch 1958-01-01.

dawndusk's simulated time is a float of UTC seconds since 1970 (Unix time); packets carry it as
CUC TAI seconds since 1958. Leap seconds between the two come from Skyfield's packaged
timescale table (no network), read once on first use.

>>> t = CucTime.from_unix(1_700_000_000.5)
>>> t.coarse, t.fine
(2078691237, 32768)
>>> t.to_unix()
1700000000.5
"""

from __future__ import annotations

import ast
import bisect
import datetime as dt
import functools
import importlib.resources
import math
import struct
import zipfile
from typing import Final, NamedTuple

from mypy_extensions import mypyc_attr

FINE_PER_SECOND: Final = 1 << 16
MAX_COARSE: Final = (1 << 32) - 1
CUC_LEN: Final = 6
#: Seconds from 1958-01-01 to 1970-01-01, both UTC midnight (4383 days).
EPOCH_1958_TO_1970_S: Final = 378_691_200
#: UTC before this instant had no integer TAI-UTC offset; CUC conversions refuse it.
UTC_1972_UNIX: Final = 63_072_000

_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _npy_float64(data: bytes, name: str) -> list[float]:
    """The values of a one-dimensional little-endian float64 ``.npy`` array."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{name}: not a .npy array")
    if data[6] == 1:
        header_len, start = struct.unpack_from("<H", data, 8)[0], 10
    else:
        header_len, start = struct.unpack_from("<I", data, 8)[0], 12
    header = ast.literal_eval(data[start:start + header_len].decode("latin-1"))
    if header["descr"] != "<f8" or header["fortran_order"] or len(header["shape"]) != 1:
        raise ValueError(f"{name}: expected a 1-D '<f8' array, got {header}")
    count = header["shape"][0]
    return list(struct.unpack_from(f"<{count}d", data, start + header_len))


@functools.cache
def _leap_table() -> tuple[tuple[float, ...], tuple[int, ...], tuple[float, ...]]:
    """(Unix times of leap-second steps, TAI-UTC from each step, TAI-1958 seconds of each step).

    Read from the leap-second table Skyfield ships for its builtin timescale (``iers.npz``),
    without importing Skyfield's time machinery or numpy: flight processes need only these
    27 numbers, and importing numpy would cost each of them ~15 MiB.
    """
    bundle = importlib.resources.files("skyfield.data").joinpath("iers.npz")
    with bundle.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        dates = _npy_float64(archive.read("leap_dates.npy"), "leap_dates")
        steps = _npy_float64(archive.read("leap_offsets.npy"), "leap_offsets")
    unix = [float(UTC_1972_UNIX)]
    offsets = [10]
    for jd, offset in zip(dates, steps, strict=True):
        unix.append(round((jd - 2440587.5) * 86400.0))
        offsets.append(int(offset))
    tai = [u + EPOCH_1958_TO_1970_S + o for u, o in zip(unix, offsets, strict=True)]
    return tuple(unix), tuple(offsets), tuple(tai)


def preload() -> None:
    """Read the leap-second table now (before forking processes that will share it)."""
    _leap_table()


def tai_minus_utc(unix_s: float) -> int:
    """TAI−UTC in seconds at a Unix time (1972 onwards), from Skyfield's packaged table."""
    unix, offsets, _ = _leap_table()
    if unix_s < UTC_1972_UNIX:
        raise ValueError(f"UTC before 1972-01-01 has no integer TAI-UTC offset: {unix_s}")
    return offsets[bisect.bisect_right(unix, unix_s) - 1]


#: (start, end, TAI-UTC) of the Unix-time span between two leap seconds last looked up: nearly
#: every conversion falls in the same one as the one before.
_SPAN: tuple[float, float, int] = (0.0, 0.0, 0)


def _span_of(unix_s: float) -> int:
    """TAI−UTC at ``unix_s``; remember the span it holds in as ``_SPAN``."""
    global _SPAN
    unix, offsets, _ = _leap_table()
    if unix_s < UTC_1972_UNIX:
        tai_minus_utc(unix_s)  # raises the error that says why
    index = bisect.bisect_right(unix, unix_s)
    _SPAN = (unix[index - 1], unix[index] if index < len(unix) else math.inf, offsets[index - 1])
    return offsets[index - 1]


class _CucFields(NamedTuple):
    coarse: int
    fine: int


@mypyc_attr(native_class=False)  # a named tuple: mypyc compiles its methods, not its layout
class CucTime(_CucFields):
    """A CUC time: ``coarse`` TAI seconds since 1958-01-01 and ``fine`` 1/65536 s.

    An immutable, ordered value (a named tuple); the constructor checks both ranges.
    """

    __slots__ = ()

    def __new__(cls, coarse: int, fine: int = 0) -> CucTime:
        if not 0 <= coarse <= MAX_COARSE:
            raise ValueError(f"CUC coarse time out of range 0..{MAX_COARSE}: {coarse}")
        if not 0 <= fine < FINE_PER_SECOND:
            raise ValueError(f"CUC fine time out of range 0..65535: {fine}")
        return tuple.__new__(cls, (coarse, fine))

    @classmethod
    def from_wire(cls, coarse: int, fine: int) -> CucTime:
        """From fields just read as a u32 and a u16 (always in range: no check)."""
        return tuple.__new__(cls, (coarse, fine))

    @classmethod
    def from_tai_seconds(cls, seconds: float) -> CucTime:
        """From TAI seconds since 1958-01-01, rounded to the nearest 1/65536 s."""
        ticks = round(seconds * FINE_PER_SECOND)
        if not 0 <= ticks >> 16 <= MAX_COARSE:
            return cls(ticks >> 16, ticks & 0xFFFF)  # raises the error that says why
        return tuple.__new__(cls, (ticks >> 16, ticks & 0xFFFF))  # in range: no check again

    @property
    def tai_seconds(self) -> float:
        """TAI seconds since 1958-01-01."""
        return self.coarse + self.fine / FINE_PER_SECOND

    @classmethod
    def from_unix(cls, unix_s: float) -> CucTime:
        """From Unix (UTC) seconds, applying the leap seconds in force at that time."""
        global _LAST
        last = _LAST
        if last[0] == unix_s:  # reports due together are stamped with one time
            return last[1]
        start, end, offset = _SPAN
        if not start <= unix_s < end:  # the span of the last time converted, or look it up
            offset = _span_of(unix_s)
        found = cls.from_tai_seconds(unix_s + EPOCH_1958_TO_1970_S + offset)
        _LAST = (unix_s, found)
        return found

    def to_unix(self) -> float:
        """Unix (UTC) seconds; inside a leap second, the second is repeated as Unix time does."""
        _, offsets, tai = _leap_table()
        seconds = self.tai_seconds
        index = bisect.bisect_right(tai, seconds) - 1
        if index < 0:
            raise ValueError(f"CUC time {self} is before 1972-01-01 UTC")
        return seconds - EPOCH_1958_TO_1970_S - offsets[index]

    @classmethod
    def from_datetime(cls, when: dt.datetime) -> CucTime:
        """From an aware datetime (naive datetimes are refused, not guessed)."""
        if when.tzinfo is None:
            raise ValueError(f"naive datetime has no time zone: {when!r}")
        delta = when - _UNIX_EPOCH
        # Whole seconds and microseconds kept apart so that no float rounding creeps in.
        whole = delta.days * 86400 + delta.seconds
        offset = tai_minus_utc(whole)
        ticks = (whole + EPOCH_1958_TO_1970_S + offset) * FINE_PER_SECOND
        ticks += round(delta.microseconds * FINE_PER_SECOND / 1_000_000)
        return cls(ticks >> 16, ticks & 0xFFFF)

    def to_datetime(self) -> dt.datetime:
        """An aware UTC datetime, to the nearest microsecond."""
        _, offsets, tai = _leap_table()
        index = bisect.bisect_right(tai, self.coarse) - 1
        if index < 0:
            raise ValueError(f"CUC time {self} is before 1972-01-01 UTC")
        whole = self.coarse - EPOCH_1958_TO_1970_S - offsets[index]
        micros = round(self.fine * 1_000_000 / FINE_PER_SECOND)
        return _UNIX_EPOCH + dt.timedelta(seconds=whole, microseconds=micros)

    def pack(self) -> bytes:
        """The 6 bytes of the T-field (P-field implicit)."""
        return self.coarse.to_bytes(4, "big") + self.fine.to_bytes(2, "big")

    @classmethod
    def unpack(cls, data: bytes) -> CucTime:
        """From the 6 bytes of a T-field."""
        if len(data) != CUC_LEN:
            raise ValueError(f"CUC T-field must be {CUC_LEN} bytes, got {len(data)}")
        return cls(int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big"))

    def isoformat(self) -> str:
        """ISO 8601 UTC with microseconds and a trailing Z."""
        return self.to_datetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def __str__(self) -> str:
        return f"CUC({self.coarse}.{self.fine:05d})"


#: The last time :meth:`CucTime.from_unix` converted, and what it gave (a process's reports
#: due at one time ask for it once each).
_LAST: tuple[float, CucTime] = (math.nan, CucTime(0, 0))
