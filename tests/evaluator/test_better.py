"""``evaluator.better`` is the one rule for which value is better."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from evaluator.better import best, is_better, oriented, sign, sort_key
from evaluator.suite import normalise

REPO = Path(__file__).resolve().parents[2]


def test_directions():
    assert sign("max") == 1.0 and sign("min") == -1.0
    assert is_better(2.0, 1.0, "max") and not is_better(1.0, 1.0, "max")
    assert is_better(1.0, 2.0, "min") and not is_better(2.0, 2.0, "min")
    assert best([3.0, 1.0, 2.0], "max") == 3.0 and best([3.0, 1.0, 2.0], "min") == 1.0
    assert sorted([1.0, 3.0, 2.0], key=lambda v: sort_key(v, "max")) == [3.0, 2.0, 1.0]
    assert sorted([1.0, 3.0, 2.0], key=lambda v: sort_key(v, "min")) == [1.0, 2.0, 3.0]
    assert sort_key(None, "max") is None
    np.testing.assert_array_equal(oriented(np.array([1.0, -2.0]), "min"), [-1.0, 2.0])


@pytest.mark.parametrize("direction", ["MAX", "", None, "higher"])
def test_unknown_direction_fails_loudly(direction):
    with pytest.raises(ValueError, match="direction must be 'max' or 'min'"):
        sign(direction)
    with pytest.raises(ValueError):
        normalise(0.5, 0.0, 1.0, direction)


def test_normalise_is_bit_identical_to_the_direct_formulas():
    rng = np.random.default_rng(0)
    score = rng.normal(size=1000) * 10
    lo, hi = -3.7, 12.9
    assert np.array_equal(normalise(score, lo, hi, "max"), (score - lo) / (hi - lo))
    assert np.array_equal(normalise(score, lo, hi, "min"), (hi - score) / (hi - lo))


# Display-only uses (an arrow next to a metric) may read the direction.
_DISPLAY = {"platform/earthbench/benchmarks/management/commands/catalog.py"}
_COMPARE = re.compile(r"""direction\)? *[!=]= *["'](max|min)["']|reverse=.*direction""")


def test_no_second_copy_of_the_rule():
    """Only evaluator/better.py turns a direction into a comparison (the
    client, which may not import the evaluator, keeps its own threshold check)."""
    found = []
    for top in ("evaluator", "platform", "benchmarks", "bench"):
        for path in (REPO / top).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if rel == "evaluator/better.py" or rel in _DISPLAY or "/migrations/" in rel:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _COMPARE.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
