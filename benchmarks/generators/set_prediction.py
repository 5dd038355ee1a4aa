"""Species presence sets per site (GeoPlant / GeoLifeCLEF-style) from a synthetic
niche model.

Sites are scattered over a region; each has environmental covariates (temperature
falling with latitude and elevation, precipitation, elevation, a land-cover
fraction). Each species has a Gaussian niche in covariate space and a
prevalence; a site's presence set is drawn from the resulting probabilities.

Public: ``train.csv`` (id, lat, lon, covariates, species = space-separated ids),
``test.csv`` (same without species), ``species.csv``, ``sample_submission.csv``
(id,predicted). Hidden: ``truth.csv`` (id,species,block; block = a 1-degree-like
spatial cell for the blocked bootstrap). Baseline: the k species most prevalent
among the 15 nearest training sites (k = median training set size).

Params: ``n_species`` (40), ``n_train`` (300), ``n_test`` (120), ``grid`` (4
blocks per side).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.writers import write_csv, write_readme

COVARIATES = ["temperature", "precipitation", "elevation", "forest_cover"]


def _sites(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lat = rng.uniform(43.0, 49.0, n)
    lon = rng.uniform(-1.0, 7.0, n)
    # Smooth elevation field (two mountain ranges) + noise.
    elev = (
        1500 * np.exp(-(((lon - 6.2) / 0.8) ** 2 + ((lat - 45.5) / 1.5) ** 2))
        + 900 * np.exp(-(((lon - 0.5) / 1.0) ** 2 + ((lat - 43.2) / 0.6) ** 2))
        + rng.gamma(2.0, 60.0, n)
    )
    temp = 16.0 - 0.9 * (lat - 43.0) - 0.0065 * elev + rng.normal(0, 0.6, n)
    precip = 600 + 0.4 * elev + 60 * (lon < 2) + rng.normal(0, 60, n)
    forest = np.clip(0.2 + elev / 3000 + rng.normal(0, 0.15, n), 0, 1)
    cov = np.stack([temp, precip, elev, forest], axis=1)
    return np.stack([lat, lon], axis=1), cov


def _presence(rng, cov, optimum, width, logit0) -> np.ndarray:
    scale = np.array([3.0, 150.0, 400.0, 0.25])
    z = (cov[:, None, :] - optimum[None]) / (scale * width[:, None])[None]
    logits = logit0[None] - 0.5 * (z**2).sum(-1)
    p = 1.0 / (1.0 + np.exp(-logits))
    return rng.uniform(size=p.shape) < p


def _fmt(sets: np.ndarray, names: list[str]) -> list[str]:
    return [" ".join(names[k] for k in np.flatnonzero(row)) for row in sets]


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    n_species = int(params.get("n_species", 40))
    n_train, n_test = int(params.get("n_train", 300)), int(params.get("n_test", 120))
    grid = int(params.get("grid", 4))
    names = [f"sp{k:04d}" for k in range(n_species)]
    loc, cov = _sites(rng, n_train + n_test)
    optimum = cov[rng.choice(len(cov), n_species, replace=False)]
    width = rng.uniform(0.6, 1.6, n_species)
    logit0 = rng.uniform(-2.0, 1.5, n_species)
    pres = _presence(rng, cov, optimum, width, logit0)
    ids = [f"site{k:05d}" for k in range(n_train + n_test)]
    cell = np.floor((loc - [43.0, -1.0]) / ([6.0, 8.0] / np.array(grid))).astype(int)
    blocks = [f"b{a}_{b}" for a, b in np.clip(cell, 0, grid - 1)]
    tr, te = np.arange(n_train), np.arange(n_train, n_train + n_test)

    public = out_dir / "public"
    cols = ["id", "lat", "lon", *COVARIATES]

    def rows(idx, with_species):
        sets = _fmt(pres[idx], names)
        for k, i in enumerate(idx):
            vals = [f"{v:.4f}" for v in loc[i]] + [f"{v:.3f}" for v in cov[i]]
            yield [ids[i], *vals, *([sets[k]] if with_species else [])]

    write_csv(public / "train.csv", [*cols, "species"], rows(tr, True))
    write_csv(public / "test.csv", cols, rows(te, False))
    write_csv(public / "species.csv", ["species_id"], [[s] for s in names])
    write_csv(
        public / "sample_submission.csv",
        ["id", "predicted"],
        [[ids[i], names[0]] for i in te],
    )
    write_readme(
        public,
        """
Species presence per site (generated demo data).
train.csv: id, lat, lon, environmental covariates, species (space-separated ids present).
test.csv: the same without species. species.csv: all species ids.
Submit CSV id,predicted with a space-separated list of species ids per test site
(see sample_submission.csv). Scored by the samples-averaged F1 of the sets.
""",
    )
    truth = write_csv(
        out_dir / "private" / "truth.csv",
        ["id", "species", "block"],
        [
            [ids[i], s, blocks[i]]
            for i, s in zip(te, _fmt(pres[te], names), strict=True)
        ],
    )

    # Baseline: prevalence among the nearest training sites.
    k_size = max(1, int(np.median(pres[tr].sum(1))))
    d = ((loc[te, None, :] - loc[None, tr, :]) ** 2).sum(-1)
    near = np.argsort(d, axis=1, kind="stable")[:, :15]
    prev = pres[tr][near].mean(1)  # (n_test, n_species)
    top = np.argsort(-prev, axis=1, kind="stable")[:, :k_size]
    baseline = write_csv(
        out_dir / "baseline.csv",
        ["id", "predicted"],
        [[ids[i], " ".join(names[k] for k in top[r])] for r, i in enumerate(te)],
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[ids[i] for i in te],
        baseline_path=baseline,
        baseline_name=f"Top-{k_size} species of the 15 nearest training sites",
        blocks={ids[i]: blocks[i] for i in te},
    )
