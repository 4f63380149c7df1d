"""Hypothesis strategies for the dictionary's data types, shared by the codec and XTCE tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from common.cuc import CucTime
from common.dictionary.types import Blob, Bool, DataType, Enum, Float, Int, Msgpack, Str, Time, UInt

F32_MAX = 3.4028234663852886e38
#: The first CUC second from which times convert to UTC (1972, when leap seconds began).
TAI_1972 = CucTime.from_unix(63_072_000).coarse


def values_of(datatype: DataType) -> st.SearchStrategy[Any]:
    """Engineering values of ``datatype`` that its ``check`` accepts, as decoding gives them
    back."""
    if isinstance(datatype, Bool):
        return st.booleans()
    if isinstance(datatype, Enum):
        return st.sampled_from(list(datatype.labels))
    if isinstance(datatype, UInt | Int):
        return st.integers(datatype.minimum, datatype.maximum)
    if isinstance(datatype, Float):
        lo = max(datatype.minimum, -F32_MAX if datatype.bits == 32 else -1e300)
        hi = min(datatype.maximum, F32_MAX if datatype.bits == 32 else 1e300)
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(datatype.check)
    if isinstance(datatype, Time):
        return st.builds(CucTime, st.integers(TAI_1972, 2**32 - 1), st.integers(0, 65535))
    if isinstance(datatype, Str):
        return st.text(max_size=24).filter(lambda s: len(s.encode()) <= datatype.max_len)
    if isinstance(datatype, Blob):
        return st.binary(max_size=min(datatype.max_len, 64))
    if isinstance(datatype, Msgpack):
        leaf = (st.integers(-(2**63), 2**64 - 1) | st.text(max_size=8) | st.booleans()
                | st.none() | st.floats(allow_nan=False))
        tree = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                            max_leaves=8)
        return st.dictionaries(st.text(max_size=8), tree, max_size=4).filter(
            lambda v: len(datatype.check(v)) <= datatype.max_len)
    raise TypeError(datatype)
