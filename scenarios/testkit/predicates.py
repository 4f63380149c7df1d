"""Predicates that describe themselves, so that a failed wait reads as a sentence.

>>> str(greater_than(50)), greater_than(50)(51), within(0, 10)(11)
('> 50', True, False)
>>> str(has_args(app="HK"))
'with app = HK'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Predicate:
    """A test on a value, with the words for it."""

    def __init__(self, test: Callable[[Any], bool], text: str) -> None:
        self._test = test
        self.text = text

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self._test(value))
        except (TypeError, ValueError, KeyError):
            return False

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<predicate {self.text}>"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def equal_to(expected: Any) -> Predicate:
    """== expected."""
    return Predicate(lambda v: v == expected, f"= {_fmt(expected)}")


def not_equal_to(expected: Any) -> Predicate:
    """!= expected."""
    return Predicate(lambda v: v != expected, f"≠ {_fmt(expected)}")


def greater_than(limit: float) -> Predicate:
    """> limit."""
    return Predicate(lambda v: v > limit, f"> {_fmt(limit)}")


def at_least(limit: float) -> Predicate:
    """>= limit."""
    return Predicate(lambda v: v >= limit, f"≥ {_fmt(limit)}")


def less_than(limit: float) -> Predicate:
    """< limit."""
    return Predicate(lambda v: v < limit, f"< {_fmt(limit)}")


def at_most(limit: float) -> Predicate:
    """<= limit."""
    return Predicate(lambda v: v <= limit, f"≤ {_fmt(limit)}")


def within(lo: float, hi: float) -> Predicate:
    """lo <= value <= hi."""
    return Predicate(lambda v: lo <= v <= hi, f"within {_fmt(lo)}..{_fmt(hi)}")


def is_in(*values: Any) -> Predicate:
    """One of ``values``."""
    return Predicate(lambda v: v in values, "one of " + ", ".join(map(_fmt, values)))


def anything() -> Predicate:
    """Any value at all (the parameter or event merely has to appear)."""
    return Predicate(lambda v: True, "received")


def satisfies(test: Callable[[Any], bool], text: str) -> Predicate:
    """A predicate of one's own, with its description."""
    return Predicate(test, text)


def has_args(**expected: Any) -> Predicate:
    """An event whose arguments include ``expected`` (values or predicates)."""
    def test(args: dict[str, Any]) -> bool:
        for key, want in expected.items():
            value = args.get(key)
            if isinstance(want, Predicate):
                if not want(value):
                    return False
            elif value != want:
                return False
        return True

    words = ", ".join(f"{k} {w}" if isinstance(w, Predicate) else f"{k} = {_fmt(w)}"
                      for k, w in expected.items())
    return Predicate(test, f"with {words}")


def as_predicate(value: Any) -> Predicate:
    """A predicate from a predicate, a plain value (equality), or None (anything)."""
    if value is None:
        return anything()
    if isinstance(value, Predicate):
        return value
    return equal_to(value)
