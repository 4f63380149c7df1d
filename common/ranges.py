"""Numeric settings and their ranges, checked with messages that say what is allowed.

>>> POSITIVE.accepts(0.5), POSITIVE.accepts(0), POSITIVE.accepts(float("nan"))
(True, False, False)
>>> Number(int, 1, 200).describe()
'an integer from 1 to 200'
>>> Number(float, 0.0, 24.0, open_high=True).describe()
'a finite number >= 0 and < 24'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """An integer, or a finite number (an integer too), from ``low`` to ``high``."""

    kind: type = float
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False

    def accepts(self, value: Any) -> bool:
        """True for a number of the kind (never a bool), finite and within the bounds."""
        kinds = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        try:
            if not math.isfinite(value):
                return False
        except OverflowError:  # an integer beyond any float
            return False
        above = value > self.low if self.open_low else value >= self.low
        return above and (value < self.high if self.open_high else value <= self.high)

    def describe(self) -> str:
        """E.g. "a finite number >= 0 and < 24", "an integer from 1 to 200"."""
        noun = "an integer" if self.kind is int else "a finite number"
        if math.isfinite(self.low + self.high) and not (self.open_low or self.open_high):
            return f"{noun} from {self.low:g} to {self.high:g}"
        bounds = []
        if math.isfinite(self.low):
            bounds.append(f"{'>' if self.open_low else '>='} {self.low:g}")
        if math.isfinite(self.high):
            bounds.append(f"{'<' if self.open_high else '<='} {self.high:g}")
        return f"{noun} {' and '.join(bounds)}".rstrip()

    def convert(self, value: Any) -> Any:
        """The number as it is."""
        return value

    def problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` cannot be the setting ``name`` (None if it can)."""
        return None if self.accepts(value) else f"{name} must be {self.describe()}, not {value!r}"


POSITIVE = Number(float, 0.0, open_low=True)
NOT_NEGATIVE = Number(float, 0.0)
FRACTION = Number(float, 0.0, 1.0)
AT_LEAST_ONE = Number(int, 1)


def number_of(annotation: Any) -> Number | None:
    """Any finite number of a dataclass field's type (``int`` or ``float``, also as the string
    a postponed annotation is); None for a field of another type."""
    name = getattr(annotation, "__name__", str(annotation))
    return Number(int) if name == "int" else Number(float) if name == "float" else None
