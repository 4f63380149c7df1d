"""Data types of command arguments and telemetry parameters.

A type knows its wire layout (a ``construct`` field), the range it accepts, how to turn an
operator's value into the raw value it encodes (``check``) and a raw value into the engineering
value shown to people and programs (``decode``). ``check`` refuses what the type cannot carry
with :class:`TypeCheckError`, whose ``allowed`` text goes into the operator's error message.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgpack
from construct import (
    Construct,
    Float32b,
    Float64b,
    GreedyBytes,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int32ub,
    Int64sb,
    Int64ub,
    PascalString,
    Prefixed,
)

from common.cuc import CucTime


class TypeCheckError(ValueError):
    """A value the type cannot carry; ``allowed`` says what it can."""

    def __init__(self, value: object, allowed: str) -> None:
        self.value = value
        self.allowed = allowed
        super().__init__(f"{value!r} is not allowed; allowed: {allowed}")


def _as_int(value: Any, datatype: DataType) -> int:
    """An integer from an int, an integral float, or text in any base Python reads (0x10)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            pass
    raise TypeCheckError(value, datatype.describe())


_UNSIGNED = {8: Int8ub, 16: Int16ub, 32: Int32ub, 64: Int64ub}
_SIGNED = {8: Int8sb, 16: Int16sb, 32: Int32sb, 64: Int64sb}


class DataType:
    """Base of every type. Subclasses are frozen dataclasses."""

    kind: ClassVar[str] = ""
    #: True when the encoded size never varies (required of telemetry parameters).
    fixed_size: ClassVar[bool] = True

    @property
    def subcon(self) -> Construct:
        """The ``construct`` field that encodes the raw value."""
        raise NotImplementedError

    @property
    def size_bits(self) -> int:
        """Encoded size in bits (fixed-size types only)."""
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        """The raw value to encode for ``value``, or :class:`TypeCheckError`."""
        raise NotImplementedError

    def decode(self, raw: Any) -> Any:
        """The engineering value of a raw value read from the wire (checked like ``check``)."""
        return self.check(raw)

    def describe(self) -> str:
        """What the type accepts, for messages, completion and the reference."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """A JSON description of the type."""
        return {"kind": self.kind}


@dataclass(frozen=True)
class UInt(DataType):
    """An unsigned integer of 8, 16, 32 or 64 bits, optionally narrowed to ``lo..hi``."""

    bits: int = 32
    lo: int | None = None
    hi: int | None = None
    kind: ClassVar[str] = "uint"

    def __post_init__(self) -> None:
        if self.bits not in _UNSIGNED:
            raise ValueError(f"unsupported unsigned width {self.bits}")

    @property
    def subcon(self) -> Construct:
        return _UNSIGNED[self.bits]

    @property
    def size_bits(self) -> int:
        return self.bits

    @property
    def minimum(self) -> int:
        return 0 if self.lo is None else self.lo

    @property
    def maximum(self) -> int:
        return (1 << self.bits) - 1 if self.hi is None else self.hi

    def check(self, value: Any) -> int:
        value = _as_int(value, self)
        if not self.minimum <= value <= self.maximum:
            raise TypeCheckError(value, self.describe())
        return value

    def describe(self) -> str:
        return f"integer {self.minimum}..{self.maximum}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits, "min": self.minimum, "max": self.maximum}


@dataclass(frozen=True)
class Int(DataType):
    """A two's-complement integer of 8, 16, 32 or 64 bits, optionally narrowed to ``lo..hi``."""

    bits: int = 32
    lo: int | None = None
    hi: int | None = None
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        if self.bits not in _SIGNED:
            raise ValueError(f"unsupported signed width {self.bits}")

    @property
    def subcon(self) -> Construct:
        return _SIGNED[self.bits]

    @property
    def size_bits(self) -> int:
        return self.bits

    @property
    def minimum(self) -> int:
        return -(1 << (self.bits - 1)) if self.lo is None else self.lo

    @property
    def maximum(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.hi is None else self.hi

    def check(self, value: Any) -> int:
        value = _as_int(value, self)
        if not self.minimum <= value <= self.maximum:
            raise TypeCheckError(value, self.describe())
        return value

    def describe(self) -> str:
        return f"integer {self.minimum}..{self.maximum}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits, "min": self.minimum, "max": self.maximum}


_F32_MAX = 3.4028234663852886e38
_F32 = struct.Struct(">f")


@dataclass(frozen=True)
class Float(DataType):
    """An IEEE 754 float of 32 or 64 bits, finite, optionally limited to ``lo..hi``.

    ``check`` rounds to what the wire carries, so that decode(encode(v)) == check(v).
    """

    bits: int = 32
    lo: float | None = None
    hi: float | None = None
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        if self.bits not in (32, 64):
            raise ValueError(f"unsupported float width {self.bits}")

    @property
    def subcon(self) -> Construct:
        return Float32b if self.bits == 32 else Float64b

    @property
    def size_bits(self) -> int:
        return self.bits

    @property
    def minimum(self) -> float:
        if self.lo is not None:
            return self.lo
        return -_F32_MAX if self.bits == 32 else -math.inf

    @property
    def maximum(self) -> float:
        if self.hi is not None:
            return self.hi
        return _F32_MAX if self.bits == 32 else math.inf

    def check(self, value: Any) -> float:
        if isinstance(value, bool):
            raise TypeCheckError(value, self.describe())
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeCheckError(value, self.describe()) from None
        if not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            raise TypeCheckError(value, self.describe())
        if self.bits == 32:
            number = _F32.unpack(_F32.pack(number))[0]
        return number

    def describe(self) -> str:
        if self.lo is None and self.hi is None:
            return f"finite float{self.bits}"
        return f"number {self.minimum:g}..{self.maximum:g}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "bits": self.bits}
        if self.lo is not None:
            out["min"] = self.lo
        if self.hi is not None:
            out["max"] = self.hi
        return out


@dataclass(frozen=True)
class Bool(DataType):
    """A boolean in one byte (0 or 1)."""

    kind: ClassVar[str] = "bool"
    _TRUE: ClassVar[frozenset[str]] = frozenset({"1", "true", "yes", "on"})
    _FALSE: ClassVar[frozenset[str]] = frozenset({"0", "false", "no", "off"})

    @property
    def subcon(self) -> Construct:
        return Int8ub

    @property
    def size_bits(self) -> int:
        return 8

    def check(self, value: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) and value in (0, 1):
            return value
        if isinstance(value, str) and value.strip().lower() in self._TRUE | self._FALSE:
            return int(value.strip().lower() in self._TRUE)
        raise TypeCheckError(value, self.describe())

    def decode(self, raw: Any) -> bool:
        return bool(self.check(raw))

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Enum(DataType):
    """A named value: labels on the wire as unsigned integers of ``bits``.

    >>> mode = Enum({"NOMINAL": 0, "DEGRADED": 1, "SAFE": 2})
    >>> mode.check("safe"), mode.decode(2)
    (2, 'SAFE')
    """

    labels: dict[str, int] = field(default_factory=dict)
    bits: int = 8
    kind: ClassVar[str] = "enum"

    def __post_init__(self) -> None:
        if self.bits not in _UNSIGNED:
            raise ValueError(f"unsupported enum width {self.bits}")
        if len(set(self.labels.values())) != len(self.labels):
            raise ValueError(f"enum values repeat: {self.labels}")
        for label, value in self.labels.items():
            if not 0 <= value < (1 << self.bits):
                raise ValueError(f"enum {label}={value} does not fit {self.bits} bits")

    def __hash__(self) -> int:
        return hash((self.bits, tuple(self.labels.items())))

    @property
    def subcon(self) -> Construct:
        return _UNSIGNED[self.bits]

    @property
    def size_bits(self) -> int:
        return self.bits

    @functools.cached_property
    def names(self) -> dict[int, str]:
        """Raw value to label (made once: every decoded value looks it up)."""
        return {value: label for label, value in self.labels.items()}

    def check(self, value: Any) -> int:
        if isinstance(value, str):
            label = value.strip().upper()
            if label in self.labels:
                return self.labels[label]
            if label.isdigit():
                value = int(label)
        if isinstance(value, int) and not isinstance(value, bool) and value in self.names:
            return value
        raise TypeCheckError(value, self.describe())

    def decode(self, raw: Any) -> str:
        name = self.names.get(raw)
        if name is None:
            raise TypeCheckError(raw, self.describe())
        return name

    def describe(self) -> str:
        return "one of " + ", ".join(self.labels)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "bits": self.bits, "labels": dict(self.labels)}


@dataclass(frozen=True)
class Str(DataType):
    """UTF-8 text of at most ``max_len`` bytes, prefixed by its length in one byte."""

    max_len: int = 64
    kind: ClassVar[str] = "string"
    fixed_size: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not 0 < self.max_len <= 255:
            raise ValueError("string max_len must be 1..255")

    @property
    def subcon(self) -> Construct:
        return PascalString(Int8ub, "utf8")

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or len(value.encode("utf-8")) > self.max_len:
            raise TypeCheckError(value, self.describe())
        return value

    def describe(self) -> str:
        return f"text of at most {self.max_len} UTF-8 bytes"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "max_len": self.max_len}


@dataclass(frozen=True)
class Blob(DataType):
    """Opaque bytes of at most ``max_len``, prefixed by their length in two bytes."""

    max_len: int = 1024
    kind: ClassVar[str] = "bytes"
    fixed_size: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not 0 < self.max_len <= 0xFFFF:
            raise ValueError("bytes max_len must be 1..65535")

    @property
    def subcon(self) -> Construct:
        return Prefixed(Int16ub, GreedyBytes)

    def check(self, value: Any) -> bytes:
        if isinstance(value, str):
            try:
                value = bytes.fromhex(value)
            except ValueError:
                raise TypeCheckError(value, self.describe()) from None
        if not isinstance(value, bytes | bytearray | memoryview) or len(value) > self.max_len:
            raise TypeCheckError(value, self.describe())
        return bytes(value)

    def describe(self) -> str:
        return f"at most {self.max_len} bytes (hex on the command line)"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "max_len": self.max_len}


@dataclass(frozen=True)
class Msgpack(DataType):
    """A structured value (a map, usually) as msgpack, at most ``max_len`` bytes encoded.

    The raw value is the msgpack bytes; the engineering value is what they unpack to.
    """

    max_len: int = 1024
    kind: ClassVar[str] = "msgpack"
    fixed_size: ClassVar[bool] = False

    @property
    def subcon(self) -> Construct:
        return Prefixed(Int16ub, GreedyBytes)

    def check(self, value: Any) -> bytes:
        if isinstance(value, bytes | bytearray):
            raw = bytes(value)
            try:
                msgpack.unpackb(raw, raw=False, strict_map_key=False)
            except (ValueError, msgpack.UnpackException, TypeError):
                raise TypeCheckError(value, self.describe()) from None
        else:
            try:
                raw = msgpack.packb(value, use_bin_type=True)
            except (TypeError, ValueError, OverflowError):
                raise TypeCheckError(value, self.describe()) from None
        if len(raw) > self.max_len:
            raise TypeCheckError(value, self.describe())
        return raw

    def decode(self, raw: Any) -> Any:
        checked = self.check(raw)
        return msgpack.unpackb(checked, raw=False, strict_map_key=False)

    def describe(self) -> str:
        return f"a msgpack value of at most {self.max_len} bytes"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "max_len": self.max_len}


@dataclass(frozen=True)
class Time(DataType):
    """An absolute time as CUC 4+2 bytes (TAI since 1958).

    Accepts a :class:`CucTime`, an aware datetime, an ISO 8601 string, or Unix seconds.
    The engineering value is a :class:`CucTime`.
    """

    kind: ClassVar[str] = "time"

    @property
    def subcon(self) -> Construct:
        from construct import Struct

        return Struct("coarse" / Int32ub, "fine" / Int16ub)

    @property
    def size_bits(self) -> int:
        return 48

    def check(self, value: Any) -> dict[str, int]:
        try:
            if isinstance(value, dict):
                cuc = CucTime(value["coarse"], value["fine"])
            elif isinstance(value, CucTime):
                cuc = value
            elif isinstance(value, dt.datetime):
                cuc = CucTime.from_datetime(value)
            elif isinstance(value, str):
                text = value.strip().replace("Z", "+00:00")
                try:
                    cuc = CucTime.from_unix(float(text))
                except ValueError:
                    cuc = CucTime.from_datetime(dt.datetime.fromisoformat(text))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cuc = CucTime.from_unix(value)
            else:
                raise TypeCheckError(value, self.describe())
        except (ValueError, KeyError, OverflowError) as exc:
            if isinstance(exc, TypeCheckError):
                raise
            raise TypeCheckError(value, self.describe()) from None
        return {"coarse": cuc.coarse, "fine": cuc.fine}

    def decode(self, raw: Any) -> CucTime:
        return CucTime(raw["coarse"], raw["fine"])

    def describe(self) -> str:
        return "a UTC time (ISO 8601, e.g. 2026-06-21T00:00:00Z, or Unix seconds)"
