"""Fixed binary layouts: ``construct`` structs compiled once and called on their fast path.

Every layout in dawndusk (packet headers, command arguments, housekeeping structures) is a
``construct.Struct`` made of whole-byte fields (and computed bit fields over whole words). This
module compiles it and calls the generated parser and builder directly with one shared,
read-only context: ``Construct.parse`` would build a fresh context container on every call,
which measured ~1.1 µs of the ~3.6 µs a TM header costs here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from construct import Construct, ConstructError, Container, Struct

# The generated code reads these keys from its parent context and never writes to it.
_SHARED_PARSE_CONTEXT = Container(
    _params={}, _root=None, _parsing=True, _building=False, _sizing=False, _subcons=None,
    _io=None, _index=None,
)
_SHARED_BUILD_CONTEXT = Container(
    _params={}, _root=None, _parsing=False, _building=True, _sizing=False, _subcons=None,
    _io=None, _index=None,
)

# Errors the generated code raises for short or malformed input, besides ConstructError.
LAYOUT_ERRORS = (ConstructError, ValueError, TypeError, KeyError, OverflowError, UnicodeError)


class Layout:
    """A compiled struct: ``parse(bytes) -> dict`` and ``build(mapping) -> bytes``.

    >>> from construct import Int16ub, Int8ub
    >>> pair = Layout(Struct("a" / Int16ub, "b" / Int8ub))
    >>> pair.parse(b"\\x01\\x02\\x03")["a"], pair.build({"a": 258, "b": 3})
    (258, b'\\x01\\x02\\x03')
    """

    __slots__ = ("_build", "_parse", "compiled", "size", "struct")

    def __init__(self, struct: Struct) -> None:
        self.struct = struct
        self.compiled = struct.compile()
        self._parse = self.compiled.parsefunc
        self._build = self.compiled.buildfunc
        try:
            self.size: int | None = struct.sizeof()
        except ConstructError:
            self.size = None

    def parse(self, data: bytes) -> dict[str, Any]:
        """Parse from the start of ``data`` (extra bytes are ignored: check sizes first)."""
        return self._parse(io.BytesIO(data), _SHARED_PARSE_CONTEXT)

    def parse_from(self, data: bytes, offset: int) -> tuple[dict[str, Any], int]:
        """Parse starting at ``offset``; returns the values and the offset just past them."""
        stream = io.BytesIO(data)
        stream.seek(offset)
        values = self._parse(stream, _SHARED_PARSE_CONTEXT)
        return values, stream.tell()

    def build(self, values: Mapping[str, Any]) -> bytes:
        """The bytes of ``values`` (a mapping with every non-computed field)."""
        stream = io.BytesIO()
        self._build(values, stream, _SHARED_BUILD_CONTEXT)
        return stream.getvalue()

    @property
    def subcons(self) -> list[Construct]:
        """The fields of the struct, in order."""
        return list(self.struct.subcons)
