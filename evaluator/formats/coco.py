"""COCO detection JSON.

- instances (truth): ``images``, ``annotations`` (``bbox`` [x,y,w,h],
  ``iscrowd``; an 8-number ``segmentation`` polygon, when present, is the oriented
  box), ``categories``.
- results (predictions): ``[{"image_id", "category_id", "bbox", "score"}]``
  (optionally ``"poly": [8 numbers]`` for oriented boxes).

Each list is read by a fast whole-list path; on any doubt the item-by-item
reader runs instead and names the first bad item (``tests/evaluator/
test_coco_reader_property.py`` checks that both agree).
"""

from __future__ import annotations

import itertools
import math
from pathlib import PurePosixPath

import numpy as np

from evaluator.detection_coco import json_areas
from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table, Truth
from evaluator.formats.jsonfile import load_json
from evaluator.io import Source


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
    data = load_json(source, name)
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
    data = load_json(source, name)
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
    if not (with_bbox or with_poly) or any(
        ("poly" in d) != with_poly or ("bbox" in d) != with_bbox for d in data
    ):
        # mixed geometry (a 'bbox' beside some polygons is kept as given, not
        # replaced by the polygon's envelope): rare, read item by item
        return None
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
