"""Shared pieces of the scoring-speed cases: the case/reference records, the
EarthBench call, the equality check and small writers."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TOLERANCE = 1e-6


@dataclass
class Ref:
    """One timed reference run; ``run(setup())`` returns comparable metrics.

    ``compare=False`` marks a baseline that computes no metric (PNG decode).
    """

    name: str
    run: Callable[[Any], dict[str, float]]
    setup: Callable[[], Any] = lambda: None
    timed: str = ""
    compare: bool = True


@dataclass
class Prepared:
    """Inputs of one case at one size, written to disk and/or held in memory."""

    eb: Callable[[Any], dict[str, float]]
    eb_setup: Callable[[], Any]
    refs: list[Ref]
    eb_timed: str
    size_note: str = ""


@dataclass
class Case:
    kind: str
    name: str
    unit: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    prepare: Callable[[int, Path], Prepared]
    notes: list[str] = field(default_factory=list)


def warm_evaluator() -> None:
    """Import the evaluator and resolve its backend outside the timed region
    (a worker pays these once per process, not per submission)."""
    from evaluator import api  # noqa: F401
    from evaluator.masks import backend
    from evaluator.registry import get_kind

    backend()
    # Every kind's module, so no case pays an import inside its timed call
    # (the references' imports are outside their timers too).
    from evaluator.registry import kind_names

    for name in kind_names():
        get_kind(name)


def warm_torch_evaluator() -> None:
    """:func:`warm_evaluator` plus torch and the image-quality module, which the
    super-resolution kind imports lazily (the mask kinds no longer load torch)."""
    warm_evaluator()
    from evaluator import quality

    quality.resolve_device()


def eb_score(
    kind: str, pred: Path, truth: Path, options: Mapping[str, Any], pick: Callable
) -> Callable[[Any], dict[str, float]]:
    """The timed EarthBench call: read, validate and score from files."""

    def run(_state: Any) -> dict[str, float]:
        from evaluator import api

        return pick(api.score(kind, pred, truth, dict(options)))

    return run


def flat(out: Mapping[str, Any], keys: Iterable[str]) -> dict[str, float]:
    return {k: float(out[k]) for k in keys if out.get(k) is not None}


def per_class(
    out: Mapping[str, Any], field_name: str | None = None
) -> dict[str, float]:
    res = {}
    for name, v in (out.get("per_class") or {}).items():
        val = v.get(field_name) if isinstance(v, dict) else v
        if val is not None:
            res[f"{field_name or 'ap'}[{name}]"] = float(val)
    return res


def assert_equal(eb: Mapping[str, float], ref: Mapping[str, float], who: str) -> int:
    """Every key of the reference within 1e-6 (absolute, or relative above 1)."""
    missing = sorted(set(ref) - set(eb))
    if missing:
        raise AssertionError(f"{who}: EarthBench lacks {missing[:5]}")
    for k, r in ref.items():
        e = eb[k]
        if not (math.isfinite(r) and math.isfinite(e)):
            if not (math.isnan(r) and math.isnan(e)):
                raise AssertionError(f"{who}: {k} EarthBench {e} vs reference {r}")
            continue
        if abs(e - r) > TOLERANCE * max(1.0, abs(r)):
            raise AssertionError(f"{who}: {k} EarthBench {e!r} vs reference {r!r}")
    return len(ref)


def png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_png_zip(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    # PNG is already deflated: store, as participants' zip tools mostly do too.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for sid, arr in arrays.items():
            zf.writestr(f"{sid}.png", png_bytes(arr))
    return path


def decode_png_zip(path: Path) -> Iterable[tuple[str, np.ndarray]]:
    """What any reference needs first: ZIP member -> PIL decode -> numpy."""
    from PIL import Image

    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            with Image.open(io.BytesIO(zf.read(name))) as im:
                yield name[:-4], np.asarray(im)
