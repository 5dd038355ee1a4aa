"""EarthBench baseline for eurosat-classification-v1: nearest class mean of band means.

The point is the plumbing of the container contract, not accuracy:

- reads ``$INPUT_DIR/manifest.json`` (default ``/input``) and each sample's
  first ``.npy`` (float array, bands first: (13, H, W), or bands last) or image
  file (PNG/TIFF/JPEG, needs Pillow);
- feature = mean of each band; prediction = the class whose mean feature
  (``weights.json``, inside the image) is nearest after per-band scaling;
- writes ``$OUTPUT_DIR/predictions.csv`` (``id,label``) and ``meta.json``.

``python predict.py fit --manifest M --labels labels.csv --out weights.json``
computes the class means from a labelled training folder laid out like /input.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load_array(path: Path) -> np.ndarray:
    """(bands, H, W) float64 array from a .npy or an image file."""
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False)
    else:
        from PIL import Image  # only in the python:3.11-slim image

        arr = np.asarray(Image.open(path))
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] < arr.shape[0]:
        arr = np.moveaxis(arr, -1, 0)  # bands last -> bands first
    return arr


def features(input_dir: Path, sample: dict) -> np.ndarray:
    files = [f for f in sample["files"] if not f.endswith(".json")]
    if not files:
        raise SystemExit(f"sample {sample['id']}: no input file")
    arr = load_array(input_dir / files[0])
    return arr.reshape(arr.shape[0], -1).mean(axis=1)


def predict(input_dir: Path, output_dir: Path, weights_path: Path) -> int:
    manifest = json.loads((input_dir / "manifest.json").read_text())
    weights = json.loads(weights_path.read_text())
    classes = weights["classes"]
    means = np.asarray(weights["band_means"], dtype=np.float64)  # (classes, bands)
    scale = np.asarray(weights["band_std"], dtype=np.float64)
    t0 = time.perf_counter()
    rows = []
    for sample in manifest["samples"]:
        f = features(input_dir, sample)
        if f.shape[0] != means.shape[1]:
            raise SystemExit(
                f"sample {sample['id']}: {f.shape[0]} bands, the model expects "
                f"{means.shape[1]}"
            )
        d = (((means - f) / scale) ** 2).sum(axis=1)
        rows.append((sample["id"], classes[int(np.argmin(d))]))
    with open(output_dir / "predictions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "label"])
        w.writerows(rows)
    meta = {
        "model": "nearest-band-mean baseline",
        "parameters": int(means.size + scale.size),
        "inference_s": round(time.perf_counter() - t0, 4),
    }
    (output_dir / "meta.json").write_text(json.dumps(meta))
    print(f"predicted {len(rows)} samples", file=sys.stderr)
    return 0


def fit(manifest_path: Path, labels_csv: Path, out: Path) -> int:
    input_dir = manifest_path.parent
    manifest = json.loads(manifest_path.read_text())
    with open(labels_csv, newline="") as fh:
        labels = {r["id"]: r["label"] for r in csv.DictReader(fh)}
    feats: dict[str, list[np.ndarray]] = {}
    for sample in manifest["samples"]:
        feats.setdefault(labels[sample["id"]], []).append(features(input_dir, sample))
    classes = sorted(feats)
    all_f = np.concatenate([np.stack(feats[c]) for c in classes])
    weights = {
        "classes": classes,
        "band_means": [np.stack(feats[c]).mean(axis=0).tolist() for c in classes],
        "band_std": np.maximum(all_f.std(axis=0), 1e-6).tolist(),
    }
    out.write_text(json.dumps(weights, indent=1))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["fit"]:
        args = dict(zip(argv[1::2], argv[2::2], strict=False))
        return fit(
            Path(args["--manifest"]), Path(args["--labels"]), Path(args["--out"])
        )
    return predict(
        Path(os.environ.get("INPUT_DIR", "/input")),
        Path(os.environ.get("OUTPUT_DIR", "/output")),
        Path(os.environ.get("EARTHBENCH_WEIGHTS", HERE / "weights.json")),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
