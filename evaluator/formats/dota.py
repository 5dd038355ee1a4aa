"""DOTA text formats, parsed in bulk (errors name the first bad line).

- ``labelTxt`` (truth): one ``<id>.txt`` per image, lines
  ``x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]``; ``imagesource:``/``gsd:`` header
  lines are skipped. Folder or ZIP.
- Task1 / Task2 results (predictions): ``Task1_<class>.txt`` lines
  ``imgname score x1 y1 … x4 y4``; ``Task2_<class>.txt`` lines
  ``imgname score xmin ymin xmax ymax``. ZIP or folder.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table, Truth, is_float, numbers
from evaluator.io import Source, read_text

_TASK_RE = re.compile(r"^Task([12])_(.+)\.txt$", re.IGNORECASE)


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
        numbers(rows.row(bad_num, 8), rows.where(bad_num), "polygon coordinates")
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
                is_float(t) and math.isfinite(float(t)) for t in tokens[k : k + width]
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
        numbers(row[:1], rows.where(bad_num), "score")
        numbers(row[1:], rows.where(bad_num), "box coordinates")
    if bad_name is not None:
        resolve_id(images[bad_name], rows.where(bad_name))
    return [ids[nm] for nm in images], nums


def _check_hbb(b: list[float], where: str) -> None:
    if b[2] < b[0] or b[3] < b[1]:
        raise ValidationError(
            f"{where}: box must have xmax >= xmin and ymax >= ymin, found {b}"
        )
