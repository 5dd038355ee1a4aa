"""Shared helpers of the vision-language and matching demo generators: caption and
question phrasing from scene facts, a tiny tokenizer for bag-of-words baselines,
and deterministic file writers (CSV, JSON, PNG, ZIP with fixed timestamps) so that
the same seed always gives the same bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Words for the terrain classes of benchmarks.generators.scene.model.TERRAIN.
TERRAIN_WORDS = {
    "background": "grassland",
    "building": "buildings",
    "road": "roads",
    "water": "water",
    "forest": "forest",
    "farmland": "farmland",
    "bare": "bare land",
}
NEAR_WORDS = TERRAIN_WORDS | {"building": "building", "road": "road"}
OBJECT_PLURALS = {
    "building": "buildings",
    "vehicle": "vehicles",
    "ship": "ships",
    "storage-tank": "storage tanks",
    "tree": "trees",
}
NUMBER_WORDS = [
    "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
]  # fmt: skip


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else "many"


def object_phrase(category: str, n: int) -> str:
    """'one ship', 'three storage tanks', 'many vehicles'."""
    noun = (
        category.replace("-", " ")
        if n == 1
        else OBJECT_PLURALS.get(category, category + "s")
    )
    return f"{number_word(n)} {noun}"


def ranked_terrain(fractions: dict[str, float], min_fraction: float = 0.0) -> list[str]:
    """Terrain classes by decreasing area (ties by name, for determinism)."""
    items = [(-f, t) for t, f in fractions.items() if f > min_fraction]
    return [t for _, t in sorted(items)]


def scene_captions(scene, rng: np.random.Generator, n: int = 5) -> list[str]:
    """``n`` reference captions of one scene with varied phrasing: setting
    (urban / rural), dominant terrain, object counts and a notable object."""
    fr = scene.fractions()
    order = [t for t in ranked_terrain(fr, 0.03) if t != "background"] or ["background"]
    first = TERRAIN_WORDS[order[0]]
    second = TERRAIN_WORDS[order[1]] if len(order) > 1 else None
    setting = "urban" if scene.is_urban else "rural"
    counts = {c: k for c, k in scene.counts().items() if k > 0}
    objs = sorted(counts, key=lambda c: (-counts[c], c))
    obj_text = " and ".join(object_phrase(c, counts[c]) for c in objs[:2])
    pieces = [
        f"this is {'a' if setting == 'rural' else 'an'} {setting} area with {first}",
        f"{'a' if setting == 'rural' else 'an'} {setting} scene mostly covered by {first}"
        + (f" and some {second}" if second else ""),
        (
            f"there are {obj_text} in the {setting} area"
            if obj_text
            else f"a large area of {first}"
        ),
        f"{first} " + (f"next to {second}" if second else "covers the whole image"),
        (
            f"{obj_text} near {first}"
            if obj_text
            else f"an area of {first} without objects"
        ),
        f"the image shows {first}" + (f" with {second}" if second else ""),
        f"{'many' if scene.is_urban else 'few'} buildings surround the {first}"
        if order[0] != "building"
        else "dense buildings fill the area",
    ]
    idx = rng.permutation(len(pieces))[:n]
    return [pieces[i] + "." for i in sorted(idx)]


def change_captions(
    before_counts: dict[str, int],
    after_counts: dict[str, int],
    near: str | None,
    rng: np.random.Generator,
    n: int = 5,
) -> list[str]:
    """LEVIR-CC-style change captions from object counts before / after."""
    diff = {c: after_counts.get(c, 0) - before_counts.get(c, 0) for c in after_counts}
    gained = sorted((c for c, d in diff.items() if d > 0), key=lambda c: (-diff[c], c))
    lost = sorted((c for c, d in diff.items() if d < 0), key=lambda c: (diff[c], c))
    if not gained and not lost:
        pool = [
            "there is no difference",
            "no change has occurred",
            "the two scenes seem identical",
            "nothing has changed",
            "the scene is the same as before",
            "no difference between the two images",
        ]
        idx = rng.permutation(len(pool))[:n]
        return [pool[i] + "." for i in sorted(idx)]
    where = f" next to the {NEAR_WORDS.get(near, near)}" if near else ""
    if gained:
        c = gained[0]
        what = object_phrase(c, diff[c])
        pool = [
            f"{what} appear{'s' if diff[c] == 1 else ''}{where}",
            f"{what} {'is' if diff[c] == 1 else 'are'} built{where}",
            f"{what} {'has' if diff[c] == 1 else 'have'} been added{where}",
            f"some {OBJECT_PLURALS[c]} are constructed{where}",
            f"the area gets {what}{where}",
            f"new {OBJECT_PLURALS[c]} show up{where}",
        ]
    else:
        c = lost[0]
        what = object_phrase(c, -diff[c])
        pool = [
            f"{what} {'disappears' if diff[c] == -1 else 'disappear'}{where}",
            f"{what} {'has' if diff[c] == -1 else 'have'} been removed{where}",
            f"some {OBJECT_PLURALS[c]} are demolished{where}",
            f"the {OBJECT_PLURALS[c]}{where} are gone",
            f"{what} no longer exist{'s' if diff[c] == -1 else ''}",
            f"fewer {OBJECT_PLURALS[c]} than before",
        ]
    idx = rng.permutation(len(pool))[:n]
    return [pool[i] + "." for i in sorted(idx)]


_TOKEN = re.compile(r"[a-z]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def bag_of_words(texts: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """L2-normalised counts of the ``vocab`` words in each text."""
    pos = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(texts), len(vocab)))
    for r, t in enumerate(texts):
        for w in tokens(t):
            if w in pos:
                out[r, pos[w]] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


# Rendering in other modalities ------------------------------------------------------

# C-band backscatter (VV dB) per terrain class of scene.TERRAIN; VH is lower by
# a class-dependent amount (volume scattering of forest keeps VH high).
_SAR_VV_DB = np.array([-11.0, -4.0, -19.0, -23.0, -7.5, -12.5, -15.0])
_SAR_VH_GAP = np.array([7.0, 6.0, 8.0, 9.0, 4.5, 6.5, 8.0])


def render_sar(scene, rng: np.random.Generator, looks: float = 4.0) -> np.ndarray:
    """(H, W, 2) float32 VV/VH backscatter in dB with multiplicative speckle."""
    lab = scene.label_map
    vv = _SAR_VV_DB[lab].copy()
    vh = vv - _SAR_VH_GAP[lab]
    for k, o in enumerate(scene.objects):
        if o.category in ("vehicle", "ship", "storage-tank"):
            m = scene.object_mask(k)
            vv[m], vh[m] = 2.0, -6.0  # strong double-bounce / metal returns
    lin = 10 ** (np.stack([vv, vh], -1) / 10)
    lin *= rng.gamma(looks, 1.0 / looks, lin.shape)
    return (10 * np.log10(np.maximum(lin, 1e-6))).astype(np.float32)


def render_as(
    scene, modality: str, rng: np.random.Generator, bands: int = 13
) -> np.ndarray:
    """Channels-last image of ``scene``: ``optical`` uint8 RGB, ``multispectral``
    float32 reflectance (``bands``), ``sar`` float32 VV/VH dB."""
    if modality == "sar":
        return render_sar(scene, rng)
    if modality == "multispectral":
        return scene.render(bands=bands, rng=rng)
    return scene.render(rng=rng)


def band_features(
    img: np.ndarray, bins: int = 6, value_range: tuple | None = None
) -> np.ndarray:
    """Per-band mean, std and a coarse fixed-range histogram: simple hand-made
    image features for baselines. Ranges: uint8 -> [0, 1] after scaling; float
    -> ``value_range`` (default reflectance [0, 0.6]; SAR dB e.g. (-30, 5))."""
    x = img.reshape(-1, img.shape[-1]).astype(np.float64)
    if img.dtype == np.uint8:
        x = x / 255.0
    lo, hi = value_range or ((0.0, 1.0) if img.dtype == np.uint8 else (0.0, 0.6))
    h = [
        np.histogram(x[:, b], bins=bins, range=(lo, hi))[0] / len(x)
        for b in range(x.shape[1])
    ]
    return np.concatenate([x.mean(0), x.std(0), *h])


def modality_range(modality: str) -> tuple[float, float] | None:
    return (-30.0, 5.0) if modality == "sar" else None


def ridge_map(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Weights W (with a bias row) of the ridge regression y ~ [x, 1] W, on
    standardised x (the standardisation is folded into W)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ y)
    scale = np.concatenate([1 / sd, [0.0]])
    W = w * scale[:, None]
    W[-1] = w[-1] - (mu / sd) @ w[:-1]
    return W


def apply_map(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    return x @ W[:-1] + W[-1]


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T
