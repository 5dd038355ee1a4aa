"""The columnar box table every detection reader fills, the truth it comes
with, and the number checks the text formats share."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from evaluator.errors import ValidationError
from evaluator.geometry import hbb_to_poly, poly_to_hbb

_COLUMNS = ("image", "label", "poly", "hbb", "score", "difficult", "crowd")


class Table:
    """Boxes of many images: one row per object/detection, stored columnar.

    Readers append whole blocks (:meth:`extend`, numpy arrays) or single rows
    (:meth:`add`, for small XML files); the scorer reads numpy columns
    (:meth:`arrays`, :meth:`column`). A coordinate row that was not given is
    NaN (validated coordinates are finite). ``where(i)`` names row ``i`` for
    messages; the list attributes (``image``, ``poly``, …) exist for callers and
    tests that want Python values.
    """

    def __init__(self) -> None:
        self._blocks: list[dict] = []
        self._rows: list[tuple] = []  # pending single rows
        self._merged: dict | None = None
        self.extra: dict[str, np.ndarray] = {}  # COCO areas (detection_coco)

    def add(
        self,
        image,
        label,
        *,
        poly=None,
        hbb=None,
        score=1.0,
        difficult=False,
        crowd=False,
        where="",
    ):
        """One row; give ``poly`` or ``hbb`` (or both)."""
        self._rows.append((image, label, poly, hbb, score, difficult, crowd, where))
        self._merged = None

    def extend(
        self,
        images: list[str],
        labels: list[str] | str,
        *,
        poly: np.ndarray | None = None,
        hbb: np.ndarray | None = None,
        score=None,
        difficult=None,
        crowd=None,
        where: Callable[[int], str],
    ) -> None:
        """Many rows at once; ``labels`` one name for all or one per row;
        ``poly`` (n, 8) and/or ``hbb`` (n, 4) (NaN rows = not given);
        ``where(k)`` names the block's row ``k``."""
        self._flush()
        n = len(images)
        self._blocks.append(
            {
                "image": list(images),
                "label": [labels] * n if isinstance(labels, str) else list(labels),
                "poly": _coords(poly, n, 8),
                "hbb": _coords(hbb, n, 4),
                "score": _column(score, n, 1.0, np.float64),
                "difficult": _column(difficult, n, False, bool),
                "crowd": _column(crowd, n, False, bool),
                "where": where,
                "n": n,
            }
        )
        self._merged = None

    def _flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        nan8, nan4 = [math.nan] * 8, [math.nan] * 4
        wheres = [r[7] for r in rows]
        self.extend(
            [r[0] for r in rows],
            [r[1] for r in rows],
            poly=np.array([nan8 if r[2] is None else r[2] for r in rows], float),
            hbb=np.array([nan4 if r[3] is None else r[3] for r in rows], float),
            score=[r[4] for r in rows],
            difficult=[bool(r[5]) for r in rows],
            crowd=[bool(r[6]) for r in rows],
            where=wheres.__getitem__,
        )

    def _all(self) -> dict:
        self._flush()
        if self._merged is None:
            blocks = self._blocks or [
                {
                    "image": [],
                    "label": [],
                    "poly": np.zeros((0, 8)),
                    "hbb": np.zeros((0, 4)),
                    "score": np.zeros(0),
                    "difficult": np.zeros(0, bool),
                    "crowd": np.zeros(0, bool),
                    "n": 0,
                }
            ]
            merged: dict = {
                k: [x for b in blocks for x in b[k]]
                if k in ("image", "label")
                else np.concatenate([b[k] for b in blocks])
                for k in _COLUMNS
            }
            merged["starts"] = np.cumsum([0] + [b["n"] for b in blocks])
            self._merged = merged
        return self._merged

    def __len__(self) -> int:
        return len(self._all()["image"])

    def column(self, name: str):
        """``image``/``label`` lists or the ``score``/``difficult``/``crowd``
        numpy column."""
        return self._all()[name]

    def where_of(self, i: int) -> str:
        starts = self._all()["starts"]
        b = int(np.searchsorted(starts, i, side="right")) - 1
        return self._blocks[b]["where"](int(i - starts[b]))

    # Python views (tests, importers, messages)
    @property
    def image(self) -> list[str]:
        return self._all()["image"]

    @property
    def label(self) -> list[str]:
        return self._all()["label"]

    @property
    def poly(self) -> list[list[float] | None]:
        return _rows_or_none(self._all()["poly"])

    @property
    def hbb(self) -> list[list[float] | None]:
        return _rows_or_none(self._all()["hbb"])

    @property
    def score(self) -> list[float]:
        return self._all()["score"].tolist()

    @property
    def difficult(self) -> list[bool]:
        return self._all()["difficult"].tolist()

    @property
    def crowd(self) -> list[bool]:
        return self._all()["crowd"].tolist()

    @property
    def where(self) -> list[str]:
        return [self.where_of(i) for i in range(len(self))]

    def arrays(self, box: str) -> np.ndarray:
        """(n, 8) polygons for ``box='obb'``, (n, 4) boxes for ``'hbb'``; rows
        given only as the other geometry are converted."""
        cols = self._all()
        poly, hbb = cols["poly"], cols["hbb"]
        if box == "obb":
            missing = np.isnan(poly[:, 0])
            if not missing.any():
                return poly
            out = poly.copy()
            out[missing] = hbb_to_poly(hbb[missing])
            return out
        missing = np.isnan(hbb[:, 0])
        if not missing.any():
            return hbb
        out = hbb.copy()
        out[missing] = poly_to_hbb(poly[missing])
        return out


def _coords(a, n: int, width: int) -> np.ndarray:
    if a is None:
        return np.full((n, width), np.nan)
    return np.asarray(a, np.float64).reshape(n, width)


def _column(v, n: int, default, dtype) -> np.ndarray:
    if v is None:
        return np.full(n, default, dtype)
    return np.asarray(v, dtype).reshape(n)


def _rows_or_none(a: np.ndarray) -> list[list[float] | None]:
    given = ~np.isnan(a[:, 0])
    rows = a.tolist()
    return [r if g else None for r, g in zip(rows, given.tolist(), strict=True)]


@dataclass
class Truth:
    ids: list[str]  # sample order
    table: Table
    classes: list[str]  # natural class order of the format
    aliases: dict[str, str] = field(default_factory=dict)  # file stem -> id
    categories: dict[int, str] | None = None  # COCO category id -> name


def numbers(tokens: list[str], where: str, what: str) -> list[float]:
    try:
        vals = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not is_float(t))
        raise ValidationError(f"{where}: {what}: {bad!r} is not a number") from None
    if not all(math.isfinite(v) for v in vals):
        raise ValidationError(f"{where}: {what} must be finite numbers, found {tokens}")
    return vals


def is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False
