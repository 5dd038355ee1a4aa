"""Per-kind cap on the size of a prediction file, relative to the test set.

Each kind declares how many bytes one test sample may take in a prediction
(``Kind.prediction_bytes_per_sample``) plus a constant (``prediction_slack_bytes``);
a file, folder or ZIP larger than that, or a ZIP whose members inflate beyond it,
is refused before anything is parsed (issue 18: a 214 MB CSV took 2.67 GB and
86 s to refuse). The platform checks it in the worker before scoring and shows
it on the benchmark's Data tab and in the API (``max_prediction_bytes``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from evaluator.errors import ValidationError
from evaluator.registry import get_kind


@dataclass(frozen=True)
class PredictionCap:
    kind: str
    per_sample: int
    slack: int
    n_samples: int

    @property
    def total(self) -> int:
        return self.per_sample * self.n_samples + self.slack

    def explain(self) -> str:
        return (
            f"{_size(self.per_sample)} per test sample x {self.n_samples} samples "
            f"+ {_size(self.slack)}, for kind {self.kind}"
        )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def prediction_cap(kind: str, n_samples: int) -> PredictionCap:
    impl = get_kind(kind)
    return PredictionCap(
        kind, impl.prediction_bytes_per_sample, impl.prediction_slack_bytes, n_samples
    )


def _stored_bytes(path: Path) -> int:
    if path.is_dir():
        total = 0
        for dirpath, _, filenames in os.walk(path):
            for fn in filenames:
                full = Path(dirpath) / fn
                if not full.is_symlink():
                    total += full.stat().st_size
        return total
    return path.stat().st_size


def check_prediction_size(path: str | os.PathLike, cap: PredictionCap) -> None:
    """Refuse ``path`` (a file, folder or ZIP) over ``cap`` from its size on
    disk, and a ZIP also from its members' declared inflated sizes."""
    p = Path(path)
    if not p.exists():
        return  # open_source reports it
    limit = cap.total
    found = _stored_bytes(p)
    what = "is"
    if found <= limit and p.is_file() and p.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(p) as zf:
                found = sum(i.file_size for i in zf.infolist())
            what = "inflates to"
        except (zipfile.BadZipFile, OSError):
            return  # open_source reports it
    if found > limit:
        raise ValidationError(
            f"{p.name}: {what} {found} bytes, over the limit of {limit} bytes for "
            f"this benchmark ({cap.explain()}); a valid prediction file is far "
            "smaller: check for repeated rows, extra columns or uncompressed data"
        )
