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

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree import ElementTree

import numpy as np

from evaluator.errors import ValidationError
from evaluator.geometry import hbb_to_poly, poly_to_hbb
from evaluator.io import Source, preview, read_text

_TASK_RE = re.compile(r"^Task([12])_(.+)\.txt$", re.IGNORECASE)


@dataclass
class Table:
    """Boxes of many images: one row per object/detection."""

    image: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    poly: list[list[float] | None] = field(default_factory=list)  # 8 numbers or None
    hbb: list[list[float] | None] = field(
        default_factory=list
    )  # x1, y1, x2, y2 or None
    score: list[float] = field(default_factory=list)
    difficult: list[bool] = field(default_factory=list)
    crowd: list[bool] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # "file line N" for messages

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
        """One row; give ``poly`` or ``hbb`` (or both); the other is derived
        later, vectorised, in :meth:`arrays`."""
        self.image.append(image)
        self.label.append(label)
        self.poly.append(poly)
        self.hbb.append(hbb)
        self.score.append(score)
        self.difficult.append(bool(difficult))
        self.crowd.append(bool(crowd))
        self.where.append(where)

    def extend(self, images, label, coords, scores, wheres, *, poly: bool):
        """Many rows of one class; ``coords`` (n, 8) polygons or (n, 4) boxes."""
        n = len(images)
        self.image.extend(images)
        self.label.extend([label] * n)
        rows = coords.tolist()
        self.poly.extend(rows if poly else [None] * n)
        self.hbb.extend([None] * n if poly else rows)
        self.score.extend(np.asarray(scores, float).tolist())
        self.difficult.extend([False] * n)
        self.crowd.extend([False] * n)
        self.where.extend(wheres)

    def arrays(self, box: str) -> np.ndarray:
        """(n, 8) polygons for ``box='obb'``, (n, 4) boxes for ``'hbb'``; rows
        given only as the other geometry are converted."""
        n = len(self.image)
        poly = np.zeros((n, 8))
        hbb = np.zeros((n, 4))
        has_poly = np.array([p is not None for p in self.poly], bool)
        if has_poly.any():
            poly[has_poly] = [p for p in self.poly if p is not None]
        if (~has_poly).any():
            hbb[~has_poly] = [
                b for p, b in zip(self.poly, self.hbb, strict=True) if p is None
            ]
        if box == "obb":
            poly[~has_poly] = hbb_to_poly(hbb[~has_poly])
            return poly
        has_hbb = np.array([b is not None for b in self.hbb], bool)
        if has_hbb.any():
            hbb[has_hbb] = [b for b in self.hbb if b is not None]
        hbb[~has_hbb] = poly_to_hbb(poly[~has_hbb])
        return hbb


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
    members = source.by_stem((".txt",))
    if not members:
        raise ValidationError(f"{source.display}: no DOTA labelTxt (.txt) files found")
    table = Table()
    for sid in sorted(members):
        name = members[sid]
        for lineno, line in enumerate(read_text(source, name).splitlines(), 1):
            parts = line.split()
            low = line.strip().lower()
            if not parts or low.startswith(("imagesource:", "gsd:")):
                continue
            where = f"{source.where(name)} line {lineno}"
            if len(parts) not in (9, 10):
                raise ValidationError(
                    f"{where}: expected 'x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]' "
                    f"(9 or 10 fields), found {len(parts)} fields"
                )
            poly = _numbers(parts[:8], where, "polygon coordinates")
            difficult = parts[9] if len(parts) == 10 else "0"
            if difficult not in ("0", "1"):
                raise ValidationError(
                    f"{where}: difficult flag must be 0 or 1, found {difficult!r}"
                )
            table.add(sid, parts[8], poly=poly, difficult=difficult == "1", where=where)
    return Truth(ids=sorted(members), table=table, classes=sorted(set(table.label)))


def read_dota_results(source: Source, resolve_id) -> Table:
    """DOTA Task1/Task2 files; ``resolve_id(name, where)`` maps an image name to
    a sample id or raises."""
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
        n_coord = 8 if task == "1" else 4
        want = (
            "imgname score x1 y1 x2 y2 x3 y3 x4 y4"
            if task == "1"
            else "imgname score xmin ymin xmax ymax"
        )
        rows, linenos = [], []
        for lineno, line in enumerate(read_text(source, name).splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 + n_coord:
                raise ValidationError(
                    f"{source.where(name)} line {lineno}: expected {2 + n_coord} fields "
                    f"({want}), found {len(parts)}"
                )
            rows.append(parts)
            linenos.append(lineno)
        nums = _number_rows(
            [r[1:] for r in rows], linenos, source.where(name), n_coord + 1
        )
        wheres = [f"{source.where(name)} line {n}" for n in linenos]
        sids = _resolve_all([r[0] for r in rows], wheres, resolve_id)
        coords = nums[:, 1:]
        if task == "2":
            bad = np.flatnonzero(
                (coords[:, 2] < coords[:, 0]) | (coords[:, 3] < coords[:, 1])
            )
            if len(bad):
                _check_hbb(coords[bad[0]].tolist(), wheres[bad[0]])
        table.extend(sids, label, coords, nums[:, 0], wheres, poly=task == "1")
    return table


def _number_rows(
    rows: list[list[str]], linenos: list[int], where: str, width: int
) -> np.ndarray:
    """(n, width) floats from token rows, vectorised; the first bad token is
    reported with its line (score first, then coordinates)."""
    try:
        nums = np.array(rows, dtype=np.float64).reshape(-1, width)
    except ValueError:
        nums = None
    if nums is not None:
        bad = np.flatnonzero(~np.isfinite(nums).all(1))
        if not len(bad):
            return nums
        rows, linenos = [rows[bad[0]]], [linenos[bad[0]]]
    for row, n in zip(rows, linenos, strict=True):
        w = f"{where} line {n}"
        _numbers(row[:1], w, "score")
        _numbers(row[1:], w, "box coordinates")
    raise AssertionError("unreachable: a bad row raises above")  # pragma: no cover


def _resolve_all(names: list[str], wheres: list[str], resolve_id) -> list[str]:
    cache: dict[str, str] = {}
    out = []
    for nm, w in zip(names, wheres, strict=True):
        if nm not in cache:
            cache[nm] = resolve_id(nm, w)
        out.append(cache[nm])
    return out


def _check_hbb(b: list[float], where: str) -> None:
    if b[2] < b[0] or b[3] < b[1]:
        raise ValidationError(
            f"{where}: box must have xmax >= xmin and ymax >= ymin, found {b}"
        )


# --- COCO -------------------------------------------------------------------


def _load_json(source: Source, name: str):
    try:
        return json.loads(read_text(source, name))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source.where(name)} line {exc.lineno}: invalid JSON ({exc.msg})"
        ) from None


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
    table = Table()
    for i, ann in enumerate(data["annotations"]):
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
        if ann["category_id"] not in categories:
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
        if det["category_id"] not in categories:
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
