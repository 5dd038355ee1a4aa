"""Readers for object-detection files, into one columnar table.

Formats (all validated with file/line/index named in errors):

- DOTA ``labelTxt`` (truth): one ``<id>.txt`` per image, lines
  ``x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]``; ``imagesource:``/``gsd:`` header
  lines are skipped. Folder or ZIP.
- DOTA Task1 / Task2 results (predictions): ``Task1_<class>.txt`` lines
  ``imgname score x1 y1 … x4 y4``; ``Task2_<class>.txt`` lines
  ``imgname score xmin ymin xmax ymax``. ZIP or folder.
- COCO instances JSON (truth): ``images``, ``annotations`` (``bbox`` [x,y,w,h],
  ``iscrowd``; an 8-number ``segmentation`` polygon, when present, is the oriented
  box), ``categories``.
- COCO results JSON (predictions): ``[{"image_id", "category_id", "bbox", "score"}]``
  (optionally ``"poly": [8 numbers]`` for oriented boxes).
- DIOR-R / VOC-style XML (truth): ``<object><name>, <difficult>`` with
  ``<robndbox>`` corners or ``<bndbox>``; HRSC2016 XML: ``<HRSC_Object>`` with
  ``mbox_cx, mbox_cy, mbox_w, mbox_h, mbox_ang`` (radians) → 4 corners, class
  ``ship`` unless the host maps ``Class_ID``.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree import ElementTree

import numpy as np

from evaluator.detection_coco import json_areas
from evaluator.errors import ValidationError
from evaluator.geometry import hbb_to_poly, poly_to_hbb
from evaluator.io import Source, parse_json, preview, read_text

_COLUMNS = ("image", "label", "poly", "hbb", "score", "difficult", "crowd")
_TASK_RE = re.compile(r"^Task([12])_(.+)\.txt$", re.IGNORECASE)


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


def _numbers(tokens: list[str], where: str, what: str) -> list[float]:
    try:
        vals = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise ValidationError(f"{where}: {what}: {bad!r} is not a number") from None
    if not all(math.isfinite(v) for v in vals):
        raise ValidationError(f"{where}: {what} must be finite numbers, found {tokens}")
    return vals


def _is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


# --- DOTA -------------------------------------------------------------------


def read_dota_labeltxt(source: Source) -> Truth:
    """All labelTxt files, parsed in bulk: lines are split in Python into flat
    token lists (no object per line), the numbers converted and checked in one
    numpy pass; errors name the first bad line (files in id order) as a
    line-by-line reader would."""
    members = source.by_stem((".txt",))
    if not members:
        raise ValidationError(f"{source.display}: no DOTA labelTxt (.txt) files found")
    ids = sorted(members)
    rows = _Rows()
    labels: list[str] = []
    flags: list[str] = []
    for fi, sid in enumerate(ids):
        name = members[sid]
        rows.names.append(source.where(name))
        for lineno, line in enumerate(read_text(source, name).splitlines(), 1):
            parts = line.split()
            if not parts or parts[0].lower().startswith(("imagesource:", "gsd:")):
                continue
            n = len(parts)
            if n != 9 and n != 10:
                _labeltxt_check(rows, flags)  # an earlier bad line is reported first
                raise ValidationError(
                    f"{rows.names[fi]} line {lineno}: expected 'x1 y1 x2 y2 x3 y3 x4 y4 "
                    f"class [difficult]' (9 or 10 fields), found {n} fields"
                )
            rows.tokens += parts[:8]
            labels.append(parts[8])
            flags.append(parts[9] if n == 10 else "0")
            rows.file_of.append(fi)
            rows.linenos.append(lineno)
    poly, difficult = _labeltxt_check(rows, flags)
    rows.tokens = []  # parsed; ``rows.where`` (kept by the table) needs no tokens
    table = Table()
    table.extend(
        [ids[f] for f in rows.file_of],
        labels,
        poly=poly,
        difficult=difficult,
        where=rows.where,
    )
    return Truth(ids=ids, table=table, classes=sorted(set(labels)))


@dataclass
class _Rows:
    """Flat tokens of many text lines (``width`` per line) and where each
    line came from; flat lists of strings keep the cyclic GC out of parsing."""

    tokens: list[str] = field(default_factory=list)
    file_of: list[int] = field(default_factory=list)
    linenos: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # message prefix per file

    def where(self, k: int) -> str:
        f = self.file_of[k] if self.file_of else 0
        return f"{self.names[f]} line {self.linenos[k]}"

    def row(self, k: int, width: int) -> list[str]:
        return self.tokens[k * width : (k + 1) * width]


def _labeltxt_check(rows: _Rows, flags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 8) polygons and difficult flags of labelTxt rows; raises for the
    first row with a bad number (checked before its flag) or a bad flag."""
    bad_flag = next((k for k, f in enumerate(flags) if f != "0" and f != "1"), None)
    bad_num, poly = _first_bad_number_row(rows.tokens, 8)
    if bad_num is not None and (bad_flag is None or bad_num <= bad_flag):
        _numbers(rows.row(bad_num, 8), rows.where(bad_num), "polygon coordinates")
    if bad_flag is not None:
        raise ValidationError(
            f"{rows.where(bad_flag)}: difficult flag must be 0 or 1, "
            f"found {flags[bad_flag]!r}"
        )
    return poly, np.array(flags) == "1" if flags else np.zeros(0, bool)


def _first_bad_number_row(
    tokens: list[str], width: int
) -> tuple[int | None, np.ndarray]:
    """``(index of the first row with a non-number or non-finite token, or
    None; (n, width) floats)`` of ``width`` tokens per row; one numpy
    conversion (numpy parses strings as ``float()`` does)."""
    try:
        nums = np.array(tokens, dtype=np.float64).reshape(-1, width)
    except ValueError:  # some token is not a number: find the first row
        for k in range(0, len(tokens), width):
            if not all(
                _is_float(t) and math.isfinite(float(t)) for t in tokens[k : k + width]
            ):
                return k // width, np.zeros((0, width))
        raise AssertionError("unreachable") from None  # pragma: no cover
    bad = np.flatnonzero(~np.isfinite(nums).all(1))
    return (int(bad[0]) if len(bad) else None), nums


def read_dota_results(source: Source, resolve_id) -> Table:
    """DOTA Task1/Task2 files; ``resolve_id(name, where)`` maps an image name to
    a sample id or raises. Each file is parsed in bulk (see
    :func:`read_dota_labeltxt`); errors name the first bad line."""
    files = [(f, _TASK_RE.match(PurePosixPath(f).name)) for f in source.files()]
    files = [(f, m) for f, m in files if m]
    if not files:
        raise ValidationError(
            f"{source.display}: no DOTA result files found (expected Task1_<class>.txt)"
        )
    table = Table()
    seen: dict[str, str] = {}
    for name, m in files:
        task, label = m.group(1), m.group(2)
        if label in seen:
            raise ValidationError(
                f"{source.display}: two result files for class {label!r} ({seen[label]}, {name})"
            )
        seen[label] = name
        _read_task_file(source, name, task, label, table, resolve_id)
    return table


def _read_task_file(source, name, task, label, table, resolve_id) -> None:
    n_coord = 8 if task == "1" else 4
    want = (
        "imgname score x1 y1 x2 y2 x3 y3 x4 y4"
        if task == "1"
        else "imgname score xmin ymin xmax ymax"
    )
    rows = _Rows(names=[source.where(name)])
    images: list[str] = []
    for lineno, line in enumerate(read_text(source, name).splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 + n_coord:
            _result_rows(rows, images, n_coord, resolve_id)  # earlier lines first
            raise ValidationError(
                f"{rows.names[0]} line {lineno}: expected {2 + n_coord} fields "
                f"({want}), found {len(parts)}"
            )
        images.append(parts[0])
        rows.tokens += parts[1:]
        rows.linenos.append(lineno)
    sids, nums = _result_rows(rows, images, n_coord, resolve_id)
    rows.tokens = []  # parsed; ``rows.where`` (kept by the table) needs no tokens
    coords = nums[:, 1:]
    if task == "2":
        bad = np.flatnonzero(
            (coords[:, 2] < coords[:, 0]) | (coords[:, 3] < coords[:, 1])
        )
        if len(bad):
            _check_hbb(coords[bad[0]].tolist(), rows.where(int(bad[0])))
    table.extend(
        sids,
        label,
        poly=coords if task == "1" else None,
        hbb=coords if task == "2" else None,
        score=nums[:, 0],
        where=rows.where,
    )


def _result_rows(rows: _Rows, images: list[str], n_coord: int, resolve_id):
    """Sample ids and (n, 1 + n_coord) numbers of Task rows, checked line by
    line in effect: a line's numbers (score first) before its image name."""
    bad_num, nums = _first_bad_number_row(rows.tokens, n_coord + 1)
    ids: dict[str, str] = {}
    bad_name = None
    for k, nm in enumerate(images):  # first occurrence of each name, in line order
        if nm not in ids:
            if bad_num is not None and k > bad_num:
                break
            try:
                ids[nm] = resolve_id(nm, rows.where(k))
            except ValidationError:
                bad_name = k
                break
    if bad_num is not None and (bad_name is None or bad_num <= bad_name):
        row = rows.row(bad_num, n_coord + 1)
        _numbers(row[:1], rows.where(bad_num), "score")
        _numbers(row[1:], rows.where(bad_num), "box coordinates")
    if bad_name is not None:
        resolve_id(images[bad_name], rows.where(bad_name))
    return [ids[nm] for nm in images], nums


def _check_hbb(b: list[float], where: str) -> None:
    if b[2] < b[0] or b[3] < b[1]:
        raise ValidationError(
            f"{where}: box must have xmax >= xmin and ymax >= ymin, found {b}"
        )


# --- COCO -------------------------------------------------------------------


def _load_json(source: Source, name: str):
    try:
        return parse_json(read_text(source, name), source.where(name))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source.where(name)} line {exc.lineno}: invalid JSON ({exc.msg})"
        ) from None


def _known(key, mapping: dict) -> bool:
    """``key in mapping``, False for an unhashable key (a JSON list/object)."""
    try:
        return key in mapping
    except TypeError:
        return False


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bad(where: str, msg: str, found):
    raise ValidationError(f"{where}: {msg}, found {found!r}")


def _number_list(vals, n: int, where: str, key: str, shape: str) -> list[float]:
    if (
        not isinstance(vals, list)
        or len(vals) != n
        or not all(_is_num(v) for v in vals)
    ):
        _bad(where, f"{key!r} must be {shape} ({n} numbers)", vals)
    out = [float(v) for v in vals]
    if not all(math.isfinite(v) for v in out):
        _bad(where, f"{key!r} must contain finite numbers", vals)
    return out


def _xywh(bbox, where: str) -> list[float]:
    x, y, w, h = _number_list(bbox, 4, where, "bbox", "[x, y, w, h]")
    if w < 0 or h < 0:
        _bad(where, "'bbox' width and height must be >= 0", bbox)
    return [x, y, x + w, y + h]


def _poly8(poly, where: str, key: str) -> list[float]:
    return _number_list(poly, 8, where, key, "a polygon [x1, y1, …, x4, y4]")


def read_coco_instances(source: Source, name: str) -> Truth:
    data = _load_json(source, name)
    fn = source.where(name)
    if not isinstance(data, dict) or not all(
        k in data for k in ("images", "annotations", "categories")
    ):
        raise ValidationError(
            f"{fn}: COCO instances JSON needs 'images', 'annotations' and 'categories'"
        )
    categories: dict[int, str] = {}
    for i, cat in enumerate(data["categories"]):
        if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
            raise ValidationError(f"{fn}: categories[{i}] needs 'id' and 'name'")
        if str(cat["name"]) in categories.values():
            raise ValidationError(
                f"{fn}: categories[{i}]: duplicate name {cat['name']!r}"
            )
        categories[cat["id"]] = str(cat["name"])
    ids: list[str] = []
    aliases: dict[str, str] = {}
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img:
            raise ValidationError(f"{fn}: images[{i}] needs an 'id'")
        sid = str(img["id"])
        ids.append(sid)
        if img.get("file_name"):
            aliases[PurePosixPath(str(img["file_name"])).stem] = sid
    if len(set(ids)) != len(ids):
        raise ValidationError(f"{fn}: duplicate image ids in 'images'")
    known = set(ids)
    table = _coco_annotations_fast(data["annotations"], fn, known, categories)
    if table is None:  # something is off: the item-by-item check names it
        table = _coco_annotations(data["annotations"], fn, known, categories)
    table.extra = json_areas(data["annotations"])
    # COCO scores images in ascending id order; keep that order for parity.
    ids = sorted(
        ids, key=lambda s: (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s)
    )
    return Truth(
        ids=ids,
        table=table,
        classes=list(categories.values()),
        aliases=aliases,
        categories=categories,
    )


def read_coco_results(
    source: Source, name: str, categories: dict[int, str], resolve_id
) -> Table:
    data = _load_json(source, name)
    fn = source.where(name)
    if not isinstance(data, list):
        raise ValidationError(
            f"{fn}: COCO results must be a JSON list of {{image_id, category_id, bbox, score}}, "
            f"found {type(data).__name__}"
        )
    table = _coco_results_fast(data, fn, categories, resolve_id)
    if table is None:  # something is off: the item-by-item check names it
        table = _coco_results(data, fn, categories, resolve_id)
    table.extra = json_areas(data, with_area=False)  # loadRes: area = w·h
    return table


def _coco_annotations(anns, fn: str, known: set, categories: dict) -> Table:
    """Item-by-item reader: raises for the first bad annotation."""
    table = Table()
    for i, ann in enumerate(anns):
        where = f"{fn} annotations[{i}]"
        if not isinstance(ann, dict):
            _bad(where, "expected an object", ann)
        for key in ("image_id", "category_id", "bbox"):
            if key not in ann:
                raise ValidationError(f"{where}: missing {key!r}")
        sid = str(ann["image_id"])
        if sid not in known:
            raise ValidationError(
                f"{where}: image_id {ann['image_id']!r} is not in 'images'"
            )
        if not _known(ann["category_id"], categories):
            raise ValidationError(
                f"{where}: category_id {ann['category_id']!r} is not in 'categories'"
            )
        hbb = _xywh(ann["bbox"], where)
        seg = ann.get("segmentation")
        poly = None
        if (
            isinstance(seg, list)
            and len(seg) == 1
            and isinstance(seg[0], list)
            and len(seg[0]) == 8
        ):
            poly = _poly8(seg[0], where, "segmentation")
        crowd = bool(ann.get("iscrowd", 0))
        table.add(
            sid,
            categories[ann["category_id"]],
            poly=poly,
            hbb=hbb,
            difficult=crowd,
            crowd=crowd,
            where=where,
        )
    return table


def _coco_results(data: list, fn: str, categories: dict, resolve_id) -> Table:
    """Item-by-item reader: raises for the first bad detection."""
    table = Table()
    for i, det in enumerate(data):
        where = f"{fn}[{i}]"
        if not isinstance(det, dict):
            _bad(where, "expected an object", det)
        for key in ("image_id", "category_id", "score"):
            if key not in det:
                raise ValidationError(f"{where}: missing {key!r}")
        if "bbox" not in det and "poly" not in det:
            raise ValidationError(f"{where}: missing 'bbox' (or 'poly')")
        score = det["score"]
        if (
            not isinstance(score, (int, float))
            or isinstance(score, bool)
            or not math.isfinite(score)
        ):
            _bad(where, "'score' must be a finite number", score)
        if not _known(det["category_id"], categories):
            shown = ", ".join(map(str, list(categories)[:10]))
            raise ValidationError(
                f"{where}: category_id {det['category_id']!r} is not one of the "
                f"{len(categories)} categories ({shown})"
            )
        sid = resolve_id(str(det["image_id"]), where)
        hbb = _xywh(det["bbox"], where) if "bbox" in det else None
        poly = _poly8(det["poly"], where, "poly") if "poly" in det else None
        table.add(
            sid,
            categories[det["category_id"]],
            poly=poly,
            hbb=hbb,
            score=float(score),
            where=where,
        )
    return table


# Fast paths: every item is checked with whole-list operations; any doubt
# (a wrong type, a missing key, an unknown id, a bad number) returns None and
# the item-by-item reader above runs instead, so messages are unchanged.

_NUM_TYPES = frozenset((int, float))


def _all_dicts_with(items: list, keys: tuple[str, ...]) -> bool:
    return set(map(type, items)) <= {dict} and all(
        all(k in d for d in items) for k in keys
    )


def _numeric_rows(vals: list, width: int) -> np.ndarray | None:
    """(n, width) floats when every value is a list of ``width`` finite JSON
    numbers (not bools), else None."""
    if not vals:
        return np.zeros((0, width))
    if set(map(type, vals)) != {list} or set(map(len, vals)) != {width}:
        return None
    if not set(map(type, itertools.chain.from_iterable(vals))) <= _NUM_TYPES:
        return None
    arr = np.array(vals, dtype=np.float64)
    return arr if np.isfinite(arr).all() else None


def _xywh_rows(vals: list) -> np.ndarray | None:
    arr = _numeric_rows(vals, 4)
    if arr is None or (arr[:, 2:] < 0).any():
        return None
    return np.concatenate([arr[:, :2], arr[:, :2] + arr[:, 2:]], axis=1)


def _labels(cat_ids: list, categories: dict) -> list[str] | None:
    try:
        labels = [categories.get(c) for c in cat_ids]
    except TypeError:  # unhashable id
        return None
    return None if None in labels else labels


def _coco_annotations_fast(anns, fn: str, known: set, categories: dict):
    if not isinstance(anns, list) or not _all_dicts_with(
        anns, ("image_id", "category_id", "bbox")
    ):
        return None
    sids = [str(a["image_id"]) for a in anns]
    labels = _labels([a["category_id"] for a in anns], categories)
    hbb = _xywh_rows([a["bbox"] for a in anns])
    if labels is None or hbb is None or not known.issuperset(sids):
        return None
    segs = [a.get("segmentation") for a in anns]
    has_poly = [
        type(g) is list and len(g) == 1 and type(g[0]) is list and len(g[0]) == 8
        for g in segs
    ]
    poly = np.full((len(anns), 8), np.nan)
    if any(has_poly):
        sel = np.flatnonzero(has_poly)
        rows = _numeric_rows([segs[k][0] for k in sel], 8)
        if rows is None:
            return None
        poly[sel] = rows
    crowd = [a.get("iscrowd", 0) for a in anns]
    if not set(map(type, crowd)) <= {int, bool}:
        return None  # unusual flag values: keep Python's truthiness exactly
    crowd_arr = np.array(crowd, dtype=bool)
    table = Table()
    table.extend(
        sids,
        labels,
        poly=poly,
        hbb=hbb,
        difficult=crowd_arr,
        crowd=crowd_arr,
        where=lambda k: f"{fn} annotations[{k}]",
    )
    return table


def _coco_results_fast(data: list, fn: str, categories: dict, resolve_id):
    if not _all_dicts_with(data, ("image_id", "category_id", "score")):
        return None
    scores = [d["score"] for d in data]
    if not set(map(type, scores)) <= _NUM_TYPES:
        return None
    score = np.array(scores, dtype=np.float64)
    labels = _labels([d["category_id"] for d in data], categories)
    if labels is None or not np.isfinite(score).all():
        return None
    with_bbox = all("bbox" in d for d in data)
    with_poly = all("poly" in d for d in data)
    if not (with_bbox or with_poly) or any(("poly" in d) != with_poly for d in data):
        return None  # mixed geometry: rare, read item by item
    hbb = _xywh_rows([d["bbox"] for d in data]) if with_bbox else None
    poly = _numeric_rows([d["poly"] for d in data], 8) if with_poly else None
    if (with_bbox and hbb is None) or (with_poly and poly is None):
        return None
    names = [str(d["image_id"]) for d in data]
    ids: dict[str, str] = {}
    for k, nm in enumerate(names):
        if nm not in ids:
            try:
                ids[nm] = resolve_id(nm, f"{fn}[{k}]")
            except ValidationError:
                return None
    table = Table()
    table.extend(
        [ids[nm] for nm in names],
        labels,
        poly=poly,
        hbb=hbb,
        score=score,
        where=lambda k: f"{fn}[{k}]",
    )
    return table


# --- XML (DIOR-R, HRSC2016) -------------------------------------------------


def _xml_float(el, tag: str, where: str) -> float:
    node = el.find(tag)
    if node is None or node.text is None:
        raise ValidationError(f"{where}: missing <{tag}>")
    return _numbers([node.text.strip()], where, f"<{tag}>")[0]


def read_xml_objects(text: str, where: str, table: Table, sid: str) -> None:
    """Objects of one DIOR-R/VOC or HRSC2016 XML annotation into ``table``."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValidationError(f"{where}: invalid XML ({exc})") from None
    for obj in root.iter("object"):
        label = (obj.findtext("name") or "").strip()
        if not label:
            raise ValidationError(f"{where}: <object> without <name>")
        diff = (obj.findtext("difficult") or "0").strip() == "1"
        rb, bb = obj.find("robndbox"), obj.find("bndbox")
        if rb is not None:
            tags = [
                f"{c}_{s}"
                for s in ("left_top", "right_top", "right_bottom", "left_bottom")
                for c in ("x", "y")
            ]
            table.add(
                sid,
                label,
                poly=[_xml_float(rb, t, where) for t in tags],
                difficult=diff,
                where=where,
            )
        elif bb is not None:
            hbb = [_xml_float(bb, t, where) for t in ("xmin", "ymin", "xmax", "ymax")]
            table.add(sid, label, hbb=hbb, difficult=diff, where=where)
        else:
            raise ValidationError(
                f"{where}: <object> {label!r} has no <robndbox> or <bndbox>"
            )
    for obj in root.iter("HRSC_Object"):
        cx, cy, w, h, a = (
            _xml_float(obj, t, where)
            for t in ("mbox_cx", "mbox_cy", "mbox_w", "mbox_h", "mbox_ang")
        )
        table.add(
            sid,
            "ship",
            poly=rotated_rect_corners(cx, cy, w, h, a),
            difficult=(obj.findtext("difficult") or "0").strip() == "1",
            where=where,
        )


def rotated_rect_corners(
    cx: float, cy: float, w: float, h: float, angle: float
) -> list[float]:
    """Corners of a rectangle of size w×h rotated by ``angle`` radians about its
    centre (image coordinates, as HRSC2016 ``mbox_ang``)."""
    c, s = math.cos(angle), math.sin(angle)
    out: list[float] = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out += [cx + dx * c - dy * s, cy + dx * s + dy * c]
    return out


def read_xml_truth(source: Source) -> Truth:
    members = source.by_stem((".xml",))
    table = Table()
    for sid in sorted(members):
        read_xml_objects(
            read_text(source, members[sid]), source.where(members[sid]), table, sid
        )
    return Truth(ids=sorted(members), table=table, classes=sorted(set(table.label)))


# --- dispatch ---------------------------------------------------------------


def _gc_paused(fn):
    """Run ``fn`` with the cyclic garbage collector paused. Parsing allocates
    many long-lived containers (JSON objects, token lists); in a worker holding
    hundreds of thousands of objects (Django, torch) they trigger full
    collections that cost more than the parse itself. Nothing here builds
    reference cycles, so pausing frees nothing late."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


@_gc_paused
def read_truth(source: Source) -> Truth:
    files = source.files()
    jsons = [f for f in files if f.lower().endswith(".json")]
    if len(jsons) == 1 and len(files) == 1:
        return read_coco_instances(source, jsons[0])
    if any(f.lower().endswith(".txt") for f in files):
        return read_dota_labeltxt(source)
    if any(f.lower().endswith(".xml") for f in files):
        return read_xml_truth(source)
    raise ValidationError(
        f"{source.display}: expected a COCO instances .json, DOTA labelTxt .txt files "
        "or DIOR/HRSC .xml files"
    )


@_gc_paused
def read_predictions(source: Source, truth: Truth) -> Table:
    known = set(truth.ids)

    def resolve(name: str, where: str) -> str:
        if name in known:
            return name
        if name in truth.aliases:
            return truth.aliases[name]
        raise ValidationError(
            f"{where}: image {name!r} is not in the test set "
            f"({len(known)} images, e.g. {preview(truth.ids, 3)})"
        )

    files = source.files()
    if len(files) == 1 and files[0].lower().endswith(".json"):
        if truth.categories is None:
            raise ValidationError(
                f"{source.display}: COCO results need COCO ground truth (category ids); "
                "submit DOTA Task1_<class>.txt files for this benchmark"
            )
        return read_coco_results(source, files[0], truth.categories, resolve)
    return read_dota_results(source, resolve)
