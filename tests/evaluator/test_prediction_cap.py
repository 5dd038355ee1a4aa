"""Per-kind cap on the prediction file size relative to the test set (issue 18):
a file over it is refused from its size alone, before anything parses it."""

from __future__ import annotations

import time
import tracemalloc
import zipfile

import pytest

from evaluator.errors import ValidationError
from evaluator.kinds.base import Kind
from evaluator.limits import PredictionCap, check_prediction_size, prediction_cap
from evaluator.registry import get_kind, kind_names

MB = 1 << 20


@pytest.mark.parametrize("kind", kind_names())
def test_every_kind_declares_its_bytes_per_sample(kind):
    cls = type(get_kind(kind))
    assert "prediction_bytes_per_sample" in vars(cls), f"{kind} relies on the default"
    cap = prediction_cap(kind, 1000)
    assert cap.total == cls.prediction_bytes_per_sample * 1000 + Kind.prediction_slack_bytes


def test_the_214_mb_csv_class_is_refused_from_its_size_before_parsing(tmp_path):
    """The issue's 214 MB CSV (2.67 GB RSS, 86 s): a sparse file of that size costs
    no disk here; refusing it reads no byte of it."""
    cap = prediction_cap("classification", 27_000)  # EuroSAT's whole size
    assert cap.total < 214 * MB
    path = tmp_path / "predictions.csv"
    with open(path, "wb") as fh:
        fh.truncate(214 * MB)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ValidationError) as info:
        check_prediction_size(path, cap)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    msg = str(info.value)
    assert msg.startswith(f"predictions.csv: is {214 * MB} bytes, over the limit of {cap.total}")
    assert "512 bytes per test sample x 27000 samples + 16 MiB, for kind classification" in msg
    assert "\n" not in msg
    assert elapsed < 0.5 and peak < MB


def _csv(n_rows: int) -> bytes:
    return ("id,label\n" + "".join(f"s{i:05d},Forest\n" for i in range(n_rows))).encode()


def test_small_cap_refuses_a_real_csv_and_accepts_one_within(tmp_path):
    cap = PredictionCap("classification", per_sample=16, slack=0, n_samples=100)
    ok = tmp_path / "ok.csv"
    ok.write_bytes(_csv(100)[:1600])
    check_prediction_size(ok, cap)  # exactly at the limit
    big = tmp_path / "big.csv"
    big.write_bytes(_csv(200))
    with pytest.raises(ValidationError, match=r"^big\.csv: is 2809 bytes, over the limit of 1600 bytes"):
        check_prediction_size(big, cap)


def test_zip_counts_its_inflated_size(tmp_path):
    cap = PredictionCap("classification", per_sample=16, slack=0, n_samples=1000)
    path = tmp_path / "pred.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pred.csv", "id,label\n" + "s,Forest\n" * 10_000)
    assert path.stat().st_size < cap.total
    with pytest.raises(ValidationError, match=r"^pred\.zip: inflates to 90009 bytes, over the limit of 16000"):
        check_prediction_size(path, cap)


def test_folder_counts_every_file(tmp_path):
    cap = PredictionCap("segmentation", per_sample=100, slack=0, n_samples=2)
    root = tmp_path / "masks"
    root.mkdir()
    (root / "a.png").write_bytes(b"x" * 150)
    (root / "b.png").write_bytes(b"x" * 51)
    with pytest.raises(ValidationError, match=r"^masks: is 201 bytes, over the limit of 200"):
        check_prediction_size(root, cap)
