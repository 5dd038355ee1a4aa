"""Option checks and class codes of the detection kind (kept out of
:mod:`evaluator.kinds.detection` to keep that module short)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table


def check_options(options: dict[str, Any]) -> None:
    if options["box"] not in ("hbb", "obb"):
        raise ValidationError(
            f"option box must be 'hbb' or 'obb', found {options['box']!r}"
        )
    if options["ap_mode"] not in ("voc07", "voc12", "coco"):
        raise ValidationError(
            f"option ap_mode must be 'voc07', 'voc12' or 'coco', found {options['ap_mode']!r}"
        )
    thr = options["iou_threshold"]
    if not isinstance(thr, (int, float)) or isinstance(thr, bool) or not 0 < thr <= 1:
        raise ValidationError(
            f"option iou_threshold must be a number in (0, 1], found {thr!r}"
        )
    md = options["max_dets"]
    if md is not None and (not isinstance(md, int) or isinstance(md, bool) or md < 1):
        raise ValidationError(
            f"option max_dets must be a positive integer or null, found {md!r}"
        )
    cl = options["classes"]
    if cl is not None and (not isinstance(cl, list) or not cl):
        raise ValidationError("option classes must be a non-empty list of class names")


def class_codes(table: Table, classes: list[str], role: str) -> np.ndarray:
    lut = {c: i for i, c in enumerate(classes)}
    codes = np.array([lut.get(x, -1) for x in table.label], dtype=np.int64)
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        i = bad[0]
        shown = ", ".join(classes[:10]) + (", …" if len(classes) > 10 else "")
        if role == "truth":
            raise ValidationError(
                f"{table.where_of(i)}: truth class {table.label[i]!r} is not in option classes"
            )
        raise ValidationError(
            f"{table.where_of(i)}: class {table.label[i]!r} is not one of the "
            f"{len(classes)} classes ({shown})"
        )
    return codes
