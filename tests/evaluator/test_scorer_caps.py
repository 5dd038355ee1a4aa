"""Nothing from a small upload may fill a worker's memory (issue 18, the scorer):
image and array headers are checked against the ground truth before any pixel
is decoded, and the ZIP guards run on ``.npz`` members.

Peak allocation is measured with tracemalloc (numpy reports its buffers to it):
decoding the attack files would allocate 1.6 GB each.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import evaluator
from evaluator import images
from evaluator.errors import ValidationError
from evaluator.images import read_image
from evaluator.io import open_source
from tests.evaluator.bombs import (
    big_tiff,
    npy_header,
    npz_bomb,
    zip_deflated,
    zip_one_deflated,
)

MB = 1 << 20
N = 40_132  # the TIFF: 40,132² pixels, 1.5 MB deflated


def _png(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


def _masks_truth(tmp: Path, ids=("a", "b"), shape=(64, 64)) -> Path:
    root = tmp / "truth"
    root.mkdir()
    for i, sid in enumerate(ids):
        _png(root / f"{sid}.png", np.full(shape, i % 2, np.uint8))
    return root


def _peak_mb(fn) -> tuple[BaseException | None, float]:
    tracemalloc.start()
    try:
        fn()
        err = None
    except BaseException as exc:  # noqa: BLE001 - returned to the test
        err = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return err, peak / MB


# Every kind that reads participant rasters, with a ground truth of 64x64.
def _case(kind: str, tmp: Path) -> tuple[Path, dict, str]:
    """(truth, options, id whose prediction is replaced by the attack)."""
    if kind == "regression":
        import tifffile

        root = tmp / "truth"
        root.mkdir()
        for sid in ("a", "b"):
            tifffile.imwrite(root / f"{sid}.tif", np.ones((64, 64), np.float32))
        return root, {}, "a"
    options = {
        "segmentation": {"num_classes": 2},
        "grounding": {"box": "mask"},
    }.get(kind, {})
    return _masks_truth(tmp), options, "a"


RASTER_KINDS = [
    "segmentation",
    "change-detection",
    "referring-segmentation",
    "super-resolution",
    "regression",
    "grounding",
]


def _pred_dir(tmp: Path, attack_name: str, make) -> Path:
    pred = tmp / "pred"
    pred.mkdir()
    make(pred / attack_name)
    _png(pred / "b.png", np.ones((64, 64), np.uint8))
    return pred


@pytest.mark.parametrize("kind", RASTER_KINDS)
def test_huge_deflated_tiff_refused_from_its_header(kind, tmp_path):
    truth, options, sid = _case(kind, tmp_path)
    pred = _pred_dir(tmp_path, f"{sid}.tif", lambda p: big_tiff(p, N))
    assert (pred / f"{sid}.tif").stat().st_size < 2 * MB
    err, peak = _peak_mb(lambda: evaluator.evaluate(kind, pred, truth, options))
    assert isinstance(err, ValidationError), repr(err)
    msg = str(err)
    assert "\n" not in msg and "a.tif" in msg
    assert f"{N}x{N} differs from the ground truth 64x64" in msg, msg
    assert "header" in msg
    assert peak < 64, f"{peak:.0f} MB allocated"


def test_huge_tiff_refused_without_a_ground_truth_shape(tmp_path):
    path = big_tiff(tmp_path / "x.tif", N)
    err, peak = _peak_mb(lambda: read_image(open_source(path), "x.tif"))
    assert isinstance(err, ValidationError), repr(err)
    assert f"declares {N}x{N} pixels" in str(err)
    assert f"over the limit of {images.MAX_IMAGE_BYTES} bytes" in str(err)
    assert peak < 64


def test_png_dimensions_checked_before_decoding(tmp_path):
    """A 1-bit 6000x6000 PNG (small on disk) is refused from IHDR, not decoded."""
    truth = _masks_truth(tmp_path)
    pred = tmp_path / "pred"
    pred.mkdir()
    Image.new("1", (6000, 6000)).save(pred / "a.png")
    _png(pred / "b.png", np.ones((64, 64), np.uint8))
    with pytest.raises(ValidationError, match=r"a\.png: shape 6000x6000 differs from "
                       r"the ground truth 64x64 \(height x width, read from the file header\)"):
        evaluator.evaluate("segmentation", pred, truth, {"num_classes": 2})


def test_tiff_sample_count_checked_before_decoding(tmp_path):
    import tifffile

    truth = _masks_truth(tmp_path)
    pred = tmp_path / "pred"
    pred.mkdir()
    tifffile.imwrite(pred / "a.tif", np.zeros((64, 64, 40), np.uint8), planarconfig="contig")
    _png(pred / "b.png", np.ones((64, 64), np.uint8))
    with pytest.raises(ValidationError, match="header declares 40 bands per pixel"):
        evaluator.evaluate("segmentation", pred, truth, {"num_classes": 2})


@pytest.mark.parametrize("kind", RASTER_KINDS)
def test_npz_bomb_refused_before_inflating(kind, tmp_path):
    """1.5 MB .npz whose member inflates to 1.6 GB: the ZIP ratio guard refuses it."""
    truth, options, sid = _case(kind, tmp_path)
    pred = npz_bomb(tmp_path / "pred.npz", sid, 40_000)
    assert pred.stat().st_size < 2 * MB
    err, peak = _peak_mb(lambda: evaluator.evaluate(kind, pred, truth, options))
    assert isinstance(err, ValidationError), repr(err)
    assert "pred.npz: entry 'a.npy' compresses 1600000128 bytes" in str(err), str(err)
    assert "possible ZIP bomb" in str(err)
    assert peak < 64, f"{peak:.0f} MB allocated"


def test_npz_bomb_inside_an_uploaded_zip_refused(tmp_path):
    truth = _masks_truth(tmp_path)
    bomb = npz_bomb(tmp_path / "masks.npz", "a", 40_000)
    pred = tmp_path / "pred.zip"
    with zipfile.ZipFile(pred, "w", zipfile.ZIP_STORED) as zf:
        zf.write(bomb, "masks.npz")
    with pytest.raises(ValidationError, match=r"pred\.zip:masks\.npz: entry 'a\.npy'.*ZIP bomb"):
        evaluator.evaluate("segmentation", pred, truth, {"num_classes": 2})


def _stored_npz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_npz_array_header_checked_against_the_truth_shape(tmp_path):
    truth = _masks_truth(tmp_path)
    pred = _stored_npz(
        tmp_path / "pred.npz",
        {"a.npy": _npy(np.zeros((64, 65), np.uint8)), "b.npy": _npy(np.ones((64, 64), np.uint8))},
    )
    with pytest.raises(ValidationError, match=r"pred\.npz\['a'\]: shape 64x65 differs from "
                       r"the ground truth 64x64 \(height x width, read from the array header\)"):
        evaluator.evaluate("segmentation", pred, truth, {"num_classes": 2})


def test_npz_header_larger_than_its_member_is_refused_unallocated(tmp_path):
    """A stored member whose .npy header claims 40,000² but holds a few bytes."""
    truth = _masks_truth(tmp_path)
    pred = _stored_npz(
        tmp_path / "pred.npz",
        {"a.npy": npy_header((40_000, 40_000)) + b"\0" * 100,
         "b.npy": _npy(np.ones((64, 64), np.uint8))},
    )
    err, peak = _peak_mb(
        lambda: evaluator.evaluate("segmentation", pred, truth, {"num_classes": 2})
    )
    assert isinstance(err, ValidationError), repr(err)
    assert "unreadable array" in str(err) and "40000x40000" in str(err)
    assert peak < 64


def test_npz_real_masks_still_score(tmp_path):
    truth = _masks_truth(tmp_path)
    arrays = {"a": np.zeros((64, 64), np.uint8), "b": np.ones((64, 64), np.uint8)}
    np.savez_compressed(tmp_path / "pred.npz", **arrays)
    res = evaluator.score("segmentation", tmp_path / "pred.npz", truth, {"num_classes": 2})
    assert res["miou"] == pytest.approx(1.0)


def test_small_npz_of_zeros_under_the_ratio_floor_still_scores(tmp_path):
    """A deflated all-zero mask compresses far beyond 200:1 but is small: accepted."""
    truth = _masks_truth(tmp_path, ids=("a",), shape=(512, 512))
    pred = zip_one_deflated(tmp_path / "pred.npz", "a.npy", npy_header((512, 512)), 512 * 512)
    res = evaluator.score("segmentation", pred, truth, {"num_classes": 2})
    assert res["miou"] == pytest.approx(1.0)


def test_rle_size_checked_before_decoding(tmp_path):
    truth = _masks_truth(tmp_path)
    rows = [
        {"id": "a", "rle": {"size": [40_000, 40_000], "counts": [1_600_000_000]}},
        {"id": "b", "rle": {"size": [64, 64], "counts": [0, 4096]}},
    ]
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows))
    err, peak = _peak_mb(
        lambda: evaluator.evaluate("grounding", pred, truth, {"box": "mask"})
    )
    assert isinstance(err, ValidationError), repr(err)
    assert "mask shape 40000x40000 differs from the ground truth 64x64" in str(err)
    assert peak < 64


def test_embedding_npz_bomb_refused_before_inflating(tmp_path):
    """Headers within the kind's caps (N x D = 1.6e8 float32), 655 MB of zeros
    deflated into a < 1 MB upload: refused by the ZIP ratio guard."""
    from tests.fuzz.cases import build

    case = build("embedding-probe", tmp_path / "case")
    n, d = 10_000, 16_384
    ids = np.array([f"s{i}" for i in range(n)])
    ids_npy = _npy(ids)
    pred = zip_deflated(
        tmp_path / "emb.npz",
        [
            ("ids.npy", ids_npy, 0),
            ("embeddings.npy", npy_header((n, d), "<f4"), n * d * 4),
        ],
    )
    assert pred.stat().st_size < 2 * MB
    err, peak = _peak_mb(
        lambda: evaluator.evaluate("embedding-probe", pred, case.truth, case.options)
    )
    assert isinstance(err, ValidationError), repr(err)
    assert "emb.npz: entry 'embeddings.npy' compresses" in str(err), str(err)
    assert peak < 64, f"{peak:.0f} MB allocated"
