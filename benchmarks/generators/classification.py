"""Scene classification demo data: small multispectral patches whose class is
carried by a spectral signature and a texture, so a model can learn it.

Public: ``train/<id>.npy`` + ``train.csv`` (id,label), ``test/<id>.npy``,
``sample_submission.csv``. Hidden: ``truth.csv`` (id,label). Baseline: a
nearest-centroid classifier on per-band means fitted on the training set.

Extra params (the defaults keep the behaviour above):

- ``zero_shot: true``: no training data is published; ``classes.csv`` gives each
  class name, a short description and a reference spectrum (a noisy "spectral
  library" prototype, relative noise ``prototype_noise`` 0.1, the stand-in for what a text encoder knows of the class
  name). Baseline: nearest reference spectrum (cosine) of the band means.
- ``num_frames: T``: temporal samples; each sample is one ``.npy`` (T, C, H, W)
  whose class shows in a class-specific seasonal curve of the signature.
  Baseline: nearest centroid of the per-frame band means.
- ``variant: tabular``: per-pixel S1/S2 samples (``s1_vv``, ``s1_vh`` in dB and
  ``bands`` S2 reflectances) in ``train.csv`` / ``test.csv`` with a ``block``
  column (pixels of one spatial block share an offset; train and test blocks are
  disjoint); truth ``truth.csv`` id,label,block and ``DemoData.blocks``. Params
  ``n_blocks`` (12), ``pixels_per_block`` (40). Baseline: nearest centroid on
  standardised features.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData

_TEXTURES = ("stripes", "smooth", "blobs", "line", "grid", "noise")


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi)
    u = x * np.cos(angle) + y * np.sin(angle)
    if kind == "stripes":
        return 0.5 + 0.5 * np.sin(2 * np.pi * 6 * u)
    if kind == "line":
        return np.exp(-(((u - rng.uniform(0.3, 0.7)) / 0.06) ** 2))
    if kind == "grid":
        v = -x * np.sin(angle) + y * np.cos(angle)
        return (
            (np.sin(2 * np.pi * 5 * u) > 0.6) | (np.sin(2 * np.pi * 5 * v) > 0.6)
        ).astype(float)
    if kind == "blobs":
        out = np.zeros((size, size))
        for _ in range(4):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.2)
            out += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / r**2)
        return np.clip(out, 0, 1)
    if kind == "noise":
        return rng.uniform(0, 1, (size, size))
    return np.full((size, size), 0.5)


def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _seasons(rng: np.random.Generator, k: int, t: int) -> np.ndarray:
    """(k, t) seasonal amplitude curves: a class-specific phase and strength."""
    phase = rng.uniform(0, 2 * np.pi, k)
    strength = rng.uniform(0.05, 0.35, k)
    steps = np.arange(t) / max(t, 1)
    return 1.0 + strength[:, None] * np.sin(2 * np.pi * steps[None] + phase[:, None])


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    if params.get("variant") == "tabular":
        return _tabular(params=params, out_dir=out_dir, seed=seed)
    classes: list[str] = list(params["classes"])
    bands = int(params.get("bands", 13))
    size = int(params.get("size", 32))
    n_train = int(params.get("n_train_per_class", 20))
    n_test = int(params.get("n_test_per_class", 20))
    noise = float(params.get("noise", 0.08))
    rng = np.random.default_rng(seed)
    k = len(classes)
    # Class signatures overlap on purpose: the task is learnable, not trivial.
    base = rng.uniform(0.1, 0.5, bands)
    signatures = base + rng.normal(0, float(params.get("separation", 0.03)), (k, bands))
    textures = [_TEXTURES[i % len(_TEXTURES)] for i in range(k)]

    public = out_dir / "public"
    for sub in ("train", "test"):
        (public / sub).mkdir(parents=True, exist_ok=True)

    frames = params.get("num_frames")
    seasons = _seasons(rng, k, int(frames)) if frames else None

    def sample(ci: int) -> np.ndarray:
        tex = _texture(textures[ci], size, rng)
        sig = signatures[ci] * rng.uniform(0.75, 1.25)  # illumination
        if seasons is not None:
            # (T, C, H, W): the class's seasonal curve scales the signature per frame.
            amp = seasons[ci] * rng.uniform(0.9, 1.1, len(seasons[ci]))
            shape = (len(amp), bands, size, size)
            img = (
                amp[:, None, None, None]
                * sig[None, :, None, None]
                * (0.6 + 0.8 * tex[None, None])
            )
            return (img + rng.normal(0, noise, shape)).astype(np.float32)
        img = sig[:, None, None] * (0.6 + 0.8 * tex[None]) + rng.normal(
            0, noise, (bands, size, size)
        )
        return img.astype(np.float32)

    def features(img: np.ndarray) -> np.ndarray:
        return img.mean(axis=(-2, -1)).ravel()

    zero_shot = bool(params.get("zero_shot", False))

    train_rows, train_x, train_y = [], [], []
    for ci, c in enumerate(classes):
        for j in range(0 if zero_shot else n_train):
            sid = f"train_{ci:02d}_{j:04d}"
            img = sample(ci)
            np.save(public / "train" / f"{sid}.npy", img)
            train_rows.append((sid, c))
            train_x.append(features(img))
            train_y.append(ci)
    test_items = [(ci, j) for ci in range(k) for j in range(n_test)]
    order = rng.permutation(len(test_items))
    truth_rows, test_x = [], []
    for n, t in enumerate(order):
        ci, _ = test_items[t]
        sid = f"test_{n:05d}"
        img = sample(ci)
        np.save(public / "test" / f"{sid}.npy", img)
        truth_rows.append((sid, classes[ci]))
        test_x.append(features(img))

    if zero_shot:
        (public / "train").rmdir()
        # A noisy "spectral library" entry per class stands in for the class name.
        protos = signatures * (
            1
            + rng.normal(0, float(params.get("prototype_noise", 0.1)), signatures.shape)
        )
        _write_csv(
            public / "classes.csv",
            ["name", "description", "reference_spectrum"],
            [
                (
                    c,
                    _describe(c, textures[ci]),
                    " ".join(f"{v:.4f}" for v in protos[ci]),
                )
                for ci, c in enumerate(classes)
            ],
        )
    else:
        _write_csv(public / "train.csv", ["id", "label"], train_rows)
    _write_csv(
        public / "sample_submission.csv",
        ["id", "label"],
        [(sid, classes[0]) for sid, _ in truth_rows],
    )
    private = out_dir / "private"
    private.mkdir(parents=True, exist_ok=True)
    truth = private / "truth.csv"
    _write_csv(truth, ["id", "label"], truth_rows)

    if zero_shot:
        # Zero-shot rule: nearest reference spectrum by cosine (scale-free, so
        # illumination does not matter); temporal samples use their mean frame.
        x = np.asarray(test_x).reshape(len(test_x), -1, bands).mean(axis=1)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        pr = protos / np.linalg.norm(protos, axis=1, keepdims=True)
        pred = (x @ pr.T).argmax(axis=1)
        name = "Zero-shot: nearest class reference spectrum"
    else:
        # Baseline: nearest centroid of per-band means.
        tx, ty = np.asarray(train_x), np.asarray(train_y)
        centroids = np.stack([tx[ty == ci].mean(axis=0) for ci in range(k)])
        d = ((np.asarray(test_x)[:, None, :] - centroids[None]) ** 2).sum(-1)
        pred = d.argmin(axis=1)
        name = "Nearest centroid (band means" + (" per frame)" if frames else ")")
    _write_readme(public, classes, zero_shot, frames, bands)
    baseline = out_dir / "baseline.csv"
    _write_csv(
        baseline,
        ["id", "label"],
        [(sid, classes[p]) for (sid, _), p in zip(truth_rows, pred, strict=True)],
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[sid for sid, _ in truth_rows],
        baseline_path=baseline,
        baseline_name=name,
    )


_TEXTURE_WORDS = {
    "stripes": "regular parallel stripes",
    "smooth": "a smooth, uniform surface",
    "blobs": "scattered round patches",
    "line": "a single linear feature",
    "grid": "a dense grid pattern",
    "noise": "fine irregular texture",
}


def _describe(name: str, texture: str) -> str:
    return f"Satellite image of {name.replace('_', ' ')}; typically shows {_TEXTURE_WORDS[texture]}."


def _write_readme(public: Path, classes, zero_shot: bool, frames, bands: int) -> None:
    shape = (
        f"(T={int(frames)}, C={bands}, H, W) frame sequences"
        if frames
        else f"({bands}, H, W) patches"
    )
    train = (
        "No training labels: classes.csv gives each class name, a description and a reference\n"
        "spectrum (one value per band)."
        if zero_shot
        else "train/<id>.npy + train.csv (id,label): the training set."
    )
    text = f"""Scene classification (generated demo data). Samples: float32 .npy {shape}.
{train}
test/<id>.npy: the test samples. Classes: {", ".join(classes)}.
Submit CSV id,label with one class name per test id (see sample_submission.csv).
"""
    (public / "README.txt").write_text(text)


def _tabular(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    """Per-pixel S1 + S2 feature rows grouped in spatial blocks."""
    classes: list[str] = list(params["classes"])
    bands = int(params.get("bands", 10))
    n_blocks, per_block = (
        int(params.get("n_blocks", 12)),
        int(params.get("pixels_per_block", 40)),
    )
    rng = np.random.default_rng(seed)
    k = len(classes)
    s2 = rng.uniform(0.1, 0.3, bands) + rng.normal(0, 0.012, (k, bands))
    s1 = np.stack([rng.uniform(-14, -10, k), np.zeros(k)], axis=1)
    s1[:, 1] = s1[:, 0] - rng.uniform(6, 8, k)
    header = ["s1_vv", "s1_vh", *[f"s2_b{b + 1:02d}" for b in range(bands)]]
    rows = []
    for b in range(n_blocks):
        # Blocks differ in class mix and in a shared offset (soil moisture, haze).
        mix = rng.dirichlet(np.full(k, 0.7))
        off2, off1 = rng.normal(0, 0.02, bands), rng.normal(0, 1.0, 2)
        for j in range(per_block):
            ci = int(rng.choice(k, p=mix))
            x2 = s2[ci] + off2 + rng.normal(0, float(params.get("noise", 0.03)), bands)
            x1 = s1[ci] + off1 + rng.normal(0, 1.5, 2)
            rows.append(
                (f"px_{b:03d}_{j:04d}", f"block_{b:03d}", ci, np.concatenate([x1, x2]))
            )
    test_blocks = set(
        f"block_{b:03d}" for b in rng.permutation(n_blocks)[: max(1, n_blocks // 3)]
    )
    train = [r for r in rows if r[1] not in test_blocks]
    test = [r for r in rows if r[1] in test_blocks]
    public, private = out_dir / "public", out_dir / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)

    def fmt(x):
        return [f"{v:.4f}" for v in x]

    _write_csv(
        public / "train.csv",
        ["id", "block", *header, "label"],
        [(i, b, *fmt(x), classes[c]) for i, b, c, x in train],
    )
    _write_csv(
        public / "test.csv",
        ["id", "block", *header],
        [(i, b, *fmt(x)) for i, b, _, x in test],
    )
    _write_csv(
        public / "sample_submission.csv",
        ["id", "label"],
        [(i, classes[0]) for i, *_ in test],
    )
    truth = private / "truth.csv"
    _write_csv(
        truth, ["id", "label", "block"], [(i, classes[c], b) for i, b, c, _ in test]
    )
    (public / "README.txt").write_text(
        "Per-pixel land-cover classification from Sentinel-1 (VV, VH dB) and Sentinel-2 features\n"
        "(generated demo data). train.csv: id, block (spatial block), features, label.\n"
        "test.csv: the same without label (its blocks are disjoint from the training blocks).\n"
        "Submit CSV id,label (see sample_submission.csv). Scored by Cohen's kappa and OA.\n"
    )
    # Baseline: nearest centroid on standardised features (the rounded CSV values).
    tx = np.array([[float(v) for v in fmt(x)] for *_, x in train])
    ty = np.array([c for _, _, c, _ in train])
    ex = np.array([[float(v) for v in fmt(x)] for *_, x in test])
    mu, sd = tx.mean(0), tx.std(0) + 1e-9
    present = sorted(set(ty.tolist()))
    cents = np.stack([((tx[ty == c] - mu) / sd).mean(0) for c in present])
    pred = ((((ex - mu) / sd)[:, None] - cents[None]) ** 2).sum(-1).argmin(1)
    baseline = out_dir / "baseline.csv"
    _write_csv(
        baseline,
        ["id", "label"],
        [(r[0], classes[present[p]]) for r, p in zip(test, pred, strict=True)],
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[r[0] for r in test],
        baseline_path=baseline,
        baseline_name="Nearest centroid (standardised S1 + S2 features)",
        blocks={r[0]: r[1] for r in test},
    )
