"""Which value is better: the one rule for a metric's direction.

A metric's ``direction`` is ``"max"`` (higher is better) or ``"min"`` (lower is
better). Everything that compares, orders or normalises metric values (rank
statistics, suites, leaderboard rows and plots) goes through these functions,
so a new direction or a typo fails loudly in one place.

Orientation only flips the sign, which is exact in floating point: ``-(-x) ==
x`` and ``-a - -b == b - a`` bit for bit, so stored numbers do not move.
"""

from __future__ import annotations

from typing import Any

DIRECTIONS = ("max", "min")


def sign(direction: str) -> float:
    """+1.0 when higher is better, -1.0 when lower is better."""
    if direction == "max":
        return 1.0
    if direction == "min":
        return -1.0
    raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")


def oriented(value: Any, direction: str) -> Any:
    """``value`` (a number or a numpy array) turned so that larger is better."""
    return value if sign(direction) > 0 else -value


def sort_key(value: float | None, direction: str) -> float | None:
    """Ascending order of this key puts the best value first (None stays None)."""
    if value is None:
        return None
    return -value if sign(direction) > 0 else value


def is_better(a: float, b: float, direction: str) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return oriented(a, direction) > oriented(b, direction)


def best(values, direction: str):
    """The best of ``values`` (the first of equal ones)."""
    return max(values, key=lambda v: oriented(v, direction))
