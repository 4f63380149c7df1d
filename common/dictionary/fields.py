"""The codec of a sequence of typed fields: a command's arguments, a structure's parameters.

One :class:`FieldCodec` per command, structure, event or report, built on first use. Decoding
has two modes: ``strict`` (telecommands: every value is range-checked, as onboard software must)
and trusted (telemetry: only values that change form — enumerations, booleans, times, msgpack —
are converted; numbers are taken as the wire carries them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from construct import Struct

from common.dictionary.model import Arg, Param
from common.dictionary.types import Enum, Float, Int, TypeCheckError, UInt
from common.errors import ArgumentError, BadArguments
from common.layout import LAYOUT_ERRORS, Layout

Field = Arg | Param
_PLAIN = (UInt, Int, Float)


def _converter(field: Field) -> Callable[[Any], Any] | None:
    """How telemetry turns a raw value into an engineering one (None: it is the same)."""
    if isinstance(field.type, _PLAIN):
        return None
    return field.type.decode


def _labels(data_type: Any) -> dict[str, int]:
    """An enumeration's labels and their raw values (nothing for other types): the value
    sent is nearly always one, exactly as spelt, and finding it here takes a dictionary
    look-up where the type's own check (interpreted, and lenient about case and spaces) took
    an interpreted call per value, ~15 % of the simulated hardware's CPU."""
    if not isinstance(data_type, Enum):
        return {}
    return {label: value for label, value in data_type.labels.items()
            if data_type.check(label) == value}  # only what the check itself would pass


class FieldCodec:
    """Encode and decode the fields of one owner (a command, structure, event or report)."""

    __slots__ = ("_checks", "_convert", "_strict", "fields", "layout", "names", "owner")

    def __init__(self, owner: str, fields: Sequence[Field]) -> None:
        self.owner = owner
        self.fields = tuple(fields)
        self.names = tuple(field.name for field in self.fields)
        self.layout = Layout(Struct(*(f.name / f.type.subcon for f in self.fields)))
        self._convert = tuple(
            (index, conv)
            for index, field in enumerate(self.fields)
            if (conv := _converter(field)) is not None
        )
        self._strict = tuple(field.type.decode for field in self.fields)
        #: (index, labels, check) of the fields whose telemetry values are converted to go out:
        #: a value among ``labels`` goes out as they say, any other through ``check``.
        self._checks = tuple((index, _labels(field.type), field.type.check)
                             for index, _ in self._convert
                             for field in (self.fields[index],))

    # --- encoding --------------------------------------------------------------------------------

    def check(self, values: Mapping[str, Any]) -> list[Any]:
        """Raw values in field order, each checked; :class:`ArgumentError` names the culprit."""
        raw = []
        for field in self.fields:
            try:
                value = values[field.name]
            except KeyError:
                missing = ArgumentError(self.owner, field.name, None, field.type.describe())
                raise missing from None
            try:
                raw.append(field.type.check(value))
            except TypeCheckError as exc:
                raise ArgumentError(self.owner, field.name, value, exc.allowed) from None
        return raw

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """The bytes of ``values`` (keyed by field name), every value checked."""
        return self.layout.build_sequence(self.check(values))

    def encode_trusted(self, values: Mapping[str, Any],
                       keys: tuple[str, ...] | None = None) -> bytes:
        """The bytes of telemetry values from our own software: numbers go to the wire as they
        are (the packer still refuses what does not fit), others are converted and checked.

        ``keys``, when given, are the keys of ``values`` in field order, in place of the field
        names (an app's own status values, by their names without the app's prefix)."""
        if self.layout.fixed is None:
            return self.encode(self._by_name(values, keys))
        try:
            raw = [values[key] for key in keys or self.names]
            for index, labels, check in self._checks:
                value = raw[index]
                found = labels.get(value)
                raw[index] = check(value) if found is None else found
            return self.layout.pack(*raw)
        except (KeyError, TypeCheckError, *LAYOUT_ERRORS):
            return self.encode(self._by_name(values, keys))  # raises the precise ArgumentError

    def _by_name(self, values: Mapping[str, Any], keys: tuple[str, ...] | None
                 ) -> Mapping[str, Any]:
        if keys is None:
            return values
        return {name: values[key] for name, key in zip(self.names, keys, strict=True)
                if key in values}

    # --- decoding --------------------------------------------------------------------------------

    def _raw(self, data: bytes, offset: int) -> tuple[Any, ...]:
        layout = self.layout
        try:
            if layout.size is not None:
                if len(data) - offset != layout.size:
                    raise BadArguments(
                        f"{self.owner}: {len(data) - offset} bytes of data, layout needs "
                        f"{layout.size}", data,
                    )
                return layout.unpack(data, offset)
            parsed, end = layout.parse_from(data, offset)
        except LAYOUT_ERRORS as exc:
            message = f"{self.owner}: application data do not fit its layout ({exc})"
            raise BadArguments(message, data) from None
        if end != len(data):
            raise BadArguments(f"{self.owner}: {len(data) - end} bytes after the data", data)
        return tuple(parsed[name] for name in self.names)

    def decode(self, data: bytes, offset: int = 0) -> dict[str, Any]:
        """Telemetry values by field name from ``data[offset:]`` (which must end with them)."""
        raw = self._raw(data, offset)
        if not self._convert:
            return dict(zip(self.names, raw))  # noqa: B905 (the layout made them equal)
        values = list(raw)
        index = -1
        try:
            for index, convert in self._convert:
                values[index] = convert(values[index])
        except TypeCheckError as exc:
            raise self._bad(index, exc, data) from None
        return dict(zip(self.names, values))  # noqa: B905 (the layout made them equal)

    def decode_strict(self, data: bytes, offset: int = 0) -> dict[str, Any]:
        """Telecommand arguments by name, every value range-checked."""
        raw = self._raw(data, offset)
        values = {}
        for index, (name, decode) in enumerate(zip(self.names, self._strict, strict=True)):
            try:
                values[name] = decode(raw[index])
            except TypeCheckError as exc:
                raise self._bad(index, exc, data) from None
        return values

    def _bad(self, index: int, exc: TypeCheckError, data: bytes) -> BadArguments:
        name = self.names[index]
        return BadArguments(
            f"{self.owner}: {name}={exc.value!r} is invalid; allowed: {exc.allowed}", data,
            argument=name,
        )
