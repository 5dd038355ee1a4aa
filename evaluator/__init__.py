"""EarthBench evaluator: pure-Python scoring library (no Django).

The same code scores on the leaderboard and on a participant's laptop::

    python -m evaluator score --kind classification --predictions p.csv --truth t.csv
"""

from evaluator.api import evaluate, score
from evaluator.errors import ValidationError
from evaluator.registry import get_kind, kind_names

__version__ = "0.1.0"

__all__ = [
    "ValidationError",
    "__version__",
    "evaluate",
    "get_kind",
    "kind_names",
    "score",
]
