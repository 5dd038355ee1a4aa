"""Helpers shared by the importers: folder look-ups with clear errors, hard-link
or copy of single files, seeded splits, streaming CSV writers.

Nothing here reads a whole dataset: images are linked or copied one file at a
time, label files are read one at a time, and only ids and small label records
are kept in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.generators import DemoData

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImporterError(ValueError):
    """A problem with the dataset on disk; the message names the file or folder."""


def rel(path: Path, root: Path) -> str:
    """How messages name a path: relative to the dataset root when possible."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def child(root: Path, names: Sequence[str]) -> Path | None:
    """The first existing sub-folder of ``root`` among ``names`` (case-insensitive)."""
    if not root.is_dir():
        return None
    by_lower = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for name in names:
        hit = by_lower.get(name.lower())
        if hit is not None:
            return hit
    return None


def require_child(root: Path, names: Sequence[str], base: Path | None = None) -> Path:
    found = child(root, names)
    if found is None:
        where = rel(root, base) if base else str(root)
        alts = " or ".join(f"`{n}/`" for n in names)
        raise ImporterError(f"{where}: missing folder {alts}")
    return found


def require_file(path: Path, base: Path) -> Path:
    if not path.is_file():
        raise ImporterError(f"{rel(path, base)}: file not found")
    return path


def files_by_stem(folder: Path, exts: Sequence[str] = IMAGE_EXTS) -> dict[str, Path]:
    """``{stem: path}`` of the files with one of ``exts`` directly in ``folder``."""
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."):
            out.setdefault(p.stem, p)
    return out


def place(src: Path, dst: Path) -> Path:
    """Hard-link ``src`` to ``dst`` (same file system), else copy it (streamed)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


def unit(seed: int, key: str, salt: str = "test") -> float:
    """A uniform number in [0, 1) from a keyed hash: order-independent splits."""
    h = hashlib.sha256(f"{salt}:{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def seeded_test(ids: Iterable[str], fraction: float, seed: int) -> set[str]:
    """Ids held out as the test set when the dataset has no split files."""
    ids = sorted(ids)
    if fraction >= 1:  # everything is test data (e.g. a test-only archive)
        return set(ids)
    test = {i for i in ids if unit(seed, i) < fraction}
    if ids and not test:
        test = {min(ids, key=lambda i: unit(seed, i))}
    if len(test) == len(ids) and len(ids) > 1:
        test.discard(max(ids, key=lambda i: unit(seed, i)))
    return test


def split_params(params: dict) -> tuple[float, int]:
    return float(params.get("test_fraction", 0.2)), int(params.get("split_seed", 0))


def read_json(path: Path, base: Path) -> Any:
    """One label/metadata JSON file (never imagery)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImporterError(f"{rel(path, base)}: unreadable JSON ({exc})") from None


def read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [ln.strip() for ln in fh if ln.strip()]


def image_size(path: Path, base: Path) -> tuple[int, int]:
    """(width, height) from the file header only."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception:
        pass
    try:
        import tifffile

        with tifffile.TiffFile(path) as tf:
            shape = tf.pages[0].shape
            return int(shape[1]), int(shape[0])
    except Exception as exc:
        raise ImporterError(f"{rel(path, base)}: unreadable image ({exc})") from None


def result(public: Path, truth: Path, ids: Iterable[str]) -> DemoData:
    ids = list(ids)
    if not ids:
        raise ImporterError(f"{truth}: the import produced no test samples")
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=ids,
        baseline_path=None,
        baseline_name="none",
    )
