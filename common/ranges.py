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
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol


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


POSITIVE = Number(float, 0.0, open_low=True)
NOT_NEGATIVE = Number(float, 0.0)
FRACTION = Number(float, 0.0, 1.0)
AT_LEAST_ONE = Number(int, 1)


class Rule(Protocol):
    """What a setting may be: a :class:`Number`, or any rule that says the same."""

    def accepts(self, value: Any) -> bool:
        """True if the setting may be ``value``."""

    def describe(self) -> str:
        """What is allowed, for an error message ("must be ...")."""

    def convert(self, value: Any) -> Any:
        """An accepted value as it is kept."""


def problem(name: str, rule: Rule, value: Any) -> str | None:
    """Why ``value`` cannot be the setting ``name`` (None if it can)."""
    return None if rule.accepts(value) else f"{name} must be {rule.describe()}, not {value!r}"


def number_of(annotation: Any) -> Number | None:
    """Any finite number of a dataclass field's type (``int`` or ``float``, also as the string
    a postponed annotation is); None for a field of another type."""
    name = getattr(annotation, "__name__", str(annotation))
    return Number(int) if name == "int" else Number(float) if name == "float" else None


def rules_for(cls: type, ranges: Mapping[str, Rule], otherwise: Rule | None = None
              ) -> dict[str, Rule]:
    """A rule for each field of the dataclass ``cls``: its range if listed, else ``otherwise``,
    else any finite number of its type; a field of another type has none."""
    found: dict[str, Rule] = {}
    for item in fields(cls):
        rule = ranges.get(item.name) or otherwise or number_of(item.type)
        if rule is not None:
            found[item.name] = rule
    return found
