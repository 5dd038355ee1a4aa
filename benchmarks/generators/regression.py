"""Regression demo data: values at points or per pixel.

Params: ``variant`` (``points`` | ``raster``), ``target`` (points only:
``temperature`` | ``biomass``), ``n_train`` / ``n_test`` (points: 200 / 200; raster:
4 / 6 maps), ``size`` (raster side and biomass scene side, 64), ``bands`` (6),
``nodata`` (−9999).

- points/temperature (SatCLIP-style air temperature): inputs ``lat,lon``; the value
  is a smooth function of latitude and longitude (colder poles, a longitudinal
  wave) plus noise.
- points/biomass (AGBD-style footprints): inputs ``lat,lon`` plus a 15×15
  multispectral patch per footprint (``patches.npz`` keyed by id); the value grows
  with the forest (and tree) cover around the footprint.
- raster: ``images/<id>.tif`` multispectral GeoTIFF (float32, H×W×bands); the truth
  is a biomass GeoTIFF per image from forest density, with ``nodata`` over water
  and cloud gaps (benchmark option ``nodata`` must match).

Public: ``train.csv`` / ``test.csv`` (points) or ``{train,test}/images`` +
``train/targets`` (raster), ``sample_submission.*``. Hidden: ``truth.csv`` (id,value)
or ``truth/<id>.tif``. Baseline: a least-squares linear model fitted on the
training data (lat/|lat|/lon; band means around the footprint; band values averaged over 5×5 pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.geometry import polygon_mask
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import FOREST, WATER
from benchmarks.writers import (
    write_csv,
    write_npz,
    write_readme,
    write_tiff,
    zip_folder,
)

PATCH = 15


def temperature(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Mean annual air temperature (°C) of a smooth synthetic climate."""
    phi = np.deg2rad(lat)
    return (
        30 * np.cos(phi) ** 1.5
        - 10
        + 3 * np.sin(np.deg2rad(2 * lon)) * np.cos(phi)
        - 4 * (lat < -60)
    )


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(x)), x])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def _predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(x)), x]) @ coef


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    variant = str(params.get("variant", "points"))
    if variant == "raster":
        return _raster(params, out_dir, seed)
    if variant != "points":
        raise ValueError(f"regression generator: unknown variant {variant!r}")
    target = str(params.get("target", "temperature"))
    if target == "temperature":
        return _temperature(params, out_dir, seed)
    if target == "biomass":
        return _biomass_points(params, out_dir, seed)
    raise ValueError(f"regression generator: unknown target {target!r}")


def _points_outputs(
    out_dir, public, ids, truth, pred, baseline_name, readme
) -> DemoData:
    private = out_dir / "private"
    write_csv(
        private / "truth.csv",
        ["id", "value"],
        [(i, f"{v:.4f}") for i, v in zip(ids, truth, strict=True)],
    )
    write_csv(
        out_dir / "baseline.csv",
        ["id", "value"],
        [(i, f"{v:.4f}") for i, v in zip(ids, pred, strict=True)],
    )
    write_csv(
        public / "sample_submission.csv", ["id", "value"], [(i, "0.0") for i in ids]
    )
    write_readme(public, readme)
    return DemoData(
        public,
        private / "truth.csv",
        list(ids),
        out_dir / "baseline.csv",
        baseline_name,
    )


def _temperature(params, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(stable_seed(seed, "regression", "temperature"))
    n_train, n_test = int(params.get("n_train", 200)), int(params.get("n_test", 200))
    n = n_train + n_test
    lat = np.rad2deg(
        np.arcsin(rng.uniform(np.sin(np.deg2rad(-60)), np.sin(np.deg2rad(75)), n))
    )
    lon = rng.uniform(-180, 180, n)
    value = temperature(lat, lon) + rng.normal(0, 1.5, n)
    ids = [f"p{k:05d}" for k in range(n)]
    public = out_dir / "public"
    tr, te = slice(0, n_train), slice(n_train, n)
    rows = zip(
        ids[tr], lat[tr].round(4), lon[tr].round(4), value[tr].round(4), strict=True
    )
    write_csv(public / "train.csv", ["id", "lat", "lon", "value"], rows)
    write_csv(
        public / "test.csv",
        ["id", "lat", "lon"],
        zip(ids[te], lat[te].round(4), lon[te].round(4), strict=True),
    )
    feats = np.column_stack([lat, np.abs(lat), lon])
    coef = _fit(feats[tr], value[tr])
    readme = """
Synthetic demo data: predict the mean annual air temperature (°C) at a location.
train.csv: id,lat,lon,value; test.csv: id,lat,lon (WGS84 degrees).
Submit a CSV id,value with one row per test id; sample_submission.csv has the layout.
"""
    return _points_outputs(
        out_dir,
        public,
        ids[te],
        value[te],
        _predict(coef, feats[te]),
        "Linear model on lat, |lat|, lon",
        readme,
    )


def _forest_cover(scene) -> np.ndarray:
    cover = (scene.label_map == FOREST).astype(np.float64)
    for o in scene.objects:
        if o.category == "tree":
            cover[polygon_mask(o.polygon, scene.size)] = 1.0
    return cover


def _biomass_points(params, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(stable_seed(seed, "regression", "biomass"))
    n_train, n_test = int(params.get("n_train", 200)), int(params.get("n_test", 200))
    size, bands = int(params.get("size", 64)), int(params.get("bands", 6))
    public = out_dir / "public"
    half = PATCH // 2
    per_scene = 25
    records = []  # (id, lat, lon, patch, value)
    k = 0
    while len(records) < n_train + n_test:
        scene = make_scene(rng, size, urban=bool(rng.random() < 0.2))
        img = scene.render(bands, rng)
        cover = _forest_cover(scene)
        lat0, lon0 = rng.uniform(-40, 60), rng.uniform(-180, 170)
        for _ in range(per_scene):
            r, c = rng.integers(half, size - half, 2)
            window = (slice(r - half, r + half + 1), slice(c - half, c + half + 1))
            frac = cover[r - 3 : r + 4, c - 3 : c + 4].mean()  # GEDI footprint ~25 m
            value = max(
                0.0,
                280 * frac**1.2
                + 15 * (scene.label_map[r, c] != WATER)
                + rng.normal(0, 25),
            )
            lat, lon = lat0 - r * 1e-4, lon0 + c * 1e-4
            records.append(
                (f"f{k:05d}", lat, lon, img[window].astype(np.float32), value)
            )
            k += 1
    records = records[: n_train + n_test]
    order = rng.permutation(len(records))
    train = [records[i] for i in order[:n_train]]
    test = [records[i] for i in order[n_train:]]
    for name, recs in (("train", train), ("test", test)):
        write_npz(public / f"{name}_patches.npz", {r[0]: r[3] for r in recs})
        cols = ["id", "lat", "lon"] + (["value"] if name == "train" else [])
        rows = [
            (r[0], f"{r[1]:.6f}", f"{r[2]:.6f}")
            + ((f"{r[4]:.3f}",) if name == "train" else ())
            for r in recs
        ]
        write_csv(public / f"{name}.csv", cols, rows)

    # Band means over the footprint's 7×7 centre.
    def feat(recs):
        return np.array(
            [
                r[3][half - 3 : half + 4, half - 3 : half + 4].mean(axis=(0, 1))
                for r in recs
            ]
        )

    coef = _fit(feat(train), np.array([r[4] for r in train]))
    readme = f"""
Synthetic demo data: predict above-ground biomass (Mg/ha) at GEDI-like footprints.
train.csv: id,lat,lon,value; test.csv: id,lat,lon.
train_patches.npz / test_patches.npz: one {PATCH}×{PATCH}×{bands} float32 reflectance patch per id,
centred on the footprint (bands evenly spaced over 0.4–2.4 µm).
Submit a CSV id,value with one row per test id; sample_submission.csv has the layout.
"""
    return _points_outputs(
        out_dir,
        public,
        [r[0] for r in test],
        [r[4] for r in test],
        _predict(coef, feat(test)),
        "Linear model on the footprint's band means",
        readme,
    )


def _raster(params, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(stable_seed(seed, "regression", "raster"))
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 6))
    size, bands = int(params.get("size", 64)), int(params.get("bands", 6))
    nodata = float(params.get("nodata", -9999))
    public, private = out_dir / "public", out_dir / "private"
    step = 1e-4  # degrees per pixel (~10 m)
    fit_x, fit_y, ids = [], [], []
    coef = None
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            sid = f"{split}_{k:04d}"
            scene = make_scene(rng, size, urban=bool(rng.random() < 0.2))
            img = scene.render(bands, rng)
            feats = _box_mean(img, 2)  # baseline features: band means over 5×5
            geo = (float(rng.uniform(-60, 60)), float(rng.uniform(-40, 60)), step)
            write_tiff(public / split / "images" / f"{sid}.tif", img, geo=geo)
            biomass = _biomass_map(scene, rng)
            valid = (scene.label_map != WATER) & ~_gaps(rng, size)
            target = np.where(valid, biomass, nodata).astype(np.float32)
            if split == "train":
                write_tiff(
                    public / "train" / "targets" / f"{sid}.tif",
                    target,
                    geo=geo,
                    nodata=nodata,
                )
                fit_x.append(feats[valid])
                fit_y.append(biomass[valid])
                continue
            if coef is None:
                coef = _fit(np.concatenate(fit_x), np.concatenate(fit_y))
            ids.append(sid)
            write_tiff(private / "truth" / f"{sid}.tif", target, geo=geo, nodata=nodata)
            pred = _predict(coef, feats.reshape(-1, bands)).reshape(size, size)
            pred = np.clip(
                pred, 0, max(float(y.max()) for y in fit_y)
            )  # no extrapolation
            write_tiff(
                out_dir / "baseline" / f"{sid}.tif", pred.astype(np.float32), geo=geo
            )
            write_tiff(
                out_dir / "sample" / f"{sid}.tif",
                np.zeros((size, size), np.float32),
                geo=geo,
            )
    zip_folder(out_dir / "sample", public / "sample_submission.zip")
    zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
    write_readme(
        public,
        f"""
Synthetic demo data: map above-ground biomass (Mg/ha) per pixel.
{{train,test}}/images/<id>.tif: {bands}-band float32 reflectance GeoTIFF (H×W×bands, EPSG:4326).
train/targets/<id>.tif: biomass; {nodata:g} = no data (water, gaps), not scored.
Submit a ZIP of single-band float32 <id>.tif maps, one per test image, same size;
sample_submission.zip has the layout.
""",
    )
    return DemoData(
        public,
        private / "truth",
        ids,
        out_dir / "baseline.zip",
        "Linear model on 5×5 mean band values",
    )


def _box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)² window of a (H, W) or (H, W, bands) array (edge padded)."""
    pad = ((r, r), (r, r)) + ((0, 0),) * (x.ndim - 2)
    p = np.pad(x.astype(np.float64), pad, mode="edge").cumsum(0).cumsum(1)
    p = np.pad(p, ((1, 0), (1, 0)) + ((0, 0),) * (x.ndim - 2))
    k = 2 * r + 1
    return (p[k:, k:] - p[:-k, k:] - p[k:, :-k] + p[:-k, :-k]) / (k * k)


def _biomass_map(scene, rng) -> np.ndarray:
    density = _box_mean(_forest_cover(scene), 2)  # local canopy density
    return np.clip(300 * density**1.3 + rng.normal(0, 15, density.shape), 0, None)


def _gaps(rng, size: int) -> np.ndarray:
    """A cloud/no-data stripe or two (bool)."""
    ys, xs = np.mgrid[0:size, 0:size]
    gap = np.zeros((size, size), bool)
    for _ in range(int(rng.integers(0, 3))):
        a, off, w = rng.uniform(0, np.pi), rng.uniform(0, size), rng.uniform(2, 6)
        gap |= np.abs(xs * np.cos(a) + ys * np.sin(a) - off) < w
    return gap
