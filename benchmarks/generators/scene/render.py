"""Images of a scene: RGB with per-class colours, textures and noise, or
many-band reflectance from smooth spectra."""

from __future__ import annotations

import numpy as np

from benchmarks.generators.scene.geometry import window_mask
from benchmarks.generators.scene.model import BUILDING, FARMLAND, TERRAIN, Scene

# Mean RGB per terrain class; neighbours (bare/background, farmland/forest) are
# close on purpose so a per-pixel classifier confuses them at the noise level used.
_TERRAIN_RGB = np.array(
    [
        [150, 145, 110],  # background: mixed grass / soil
        [195, 185, 180],  # building roofs (per-building tone varies)
        [105, 105, 112],  # road asphalt
        [40, 75, 115],  # water
        [50, 95, 50],  # forest
        [130, 160, 85],  # farmland
        [180, 155, 120],  # bare soil
    ],
    dtype=np.float64,
)
_ROOF_TONES = np.array(
    [[195, 185, 180], [170, 95, 80], [215, 215, 220], [140, 140, 150]], float
)
_OBJECT_RGB = {
    "vehicle": np.array(
        [[235, 235, 235], [30, 30, 35], [180, 40, 40], [50, 70, 160]], float
    ),
    "ship": np.array([[225, 225, 225], [200, 120, 60]], float),
    "storage-tank": np.array([[240, 240, 235], [200, 200, 195]], float),
    "tree": np.array([[30, 65, 35], [40, 75, 30]], float),
}


def _object_layers(scene: Scene):
    """(object, window slices, local mask) of the non-building objects, drawn over
    the terrain in list order."""
    for o in scene.objects:
        window = (
            window_mask(o.polygon, scene.size) if o.category != "building" else None
        )
        if window is not None:
            yield o, window[0], window[1]


def render_rgb(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    lab = scene.label_map
    img = _TERRAIN_RGB[lab].copy()
    for o in scene.objects:  # per-building roof tone
        window = (
            window_mask(o.polygon, scene.size) if o.category == "building" else None
        )
        if window is not None:
            sl, local = window
            img[sl][local & (lab[sl] == BUILDING)] = _ROOF_TONES[
                o.tone % len(_ROOF_TONES)
            ]
    tex = scene.texture()
    img *= 1 + 0.12 * tex[..., None]
    ys, xs = np.mgrid[0 : scene.size, 0 : scene.size]
    stripes = np.sin((xs + ys) * 0.9)  # ploughed fields
    img[lab == FARMLAND] *= (1 + 0.08 * stripes[lab == FARMLAND])[:, None]
    for o, sl, local in _object_layers(scene):
        colours = _OBJECT_RGB[o.category]
        img[sl][local] = colours[o.tone % len(colours)]
    img *= scene.illumination
    img += rng.normal(0, 10.0, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _spectra(bands: int) -> dict[str, np.ndarray]:
    """Smooth reflectance curves over 0.4–2.4 µm for terrain and object classes."""
    lam = np.linspace(0.4, 2.4, bands)
    veg = (
        0.04
        + 0.05 * np.exp(-(((lam - 0.55) / 0.04) ** 2))
        + 0.4 / (1 + np.exp(-(lam - 0.72) / 0.02))
    )
    veg *= np.where(lam > 1.3, 0.6, 1.0)
    soil = 0.1 + 0.15 * (lam - 0.4)
    water = 0.09 * np.exp(-(lam - 0.4) / 0.15)
    return {
        "background": 0.5 * veg + 0.5 * soil,
        "building": 0.3 + 0.02 * np.sin(6 * lam),
        "road": 0.12 + 0.02 * lam,
        "water": water,
        "forest": 0.8 * veg,
        "farmland": veg + 0.05,
        "bare": soil * 1.2,
        "vehicle": np.full(bands, 0.35),
        "ship": np.full(bands, 0.3),
        "storage-tank": np.full(bands, 0.5),
        "tree": 0.7 * veg,
    }


def render_spectral(scene: Scene, bands: int, rng: np.random.Generator) -> np.ndarray:
    spec = _spectra(bands)
    table = np.stack([spec[name] for name in TERRAIN])
    img = table[scene.label_map].copy()
    img *= 1 + 0.1 * scene.texture()[..., None]
    for o, sl, local in _object_layers(scene):
        img[sl][local] = spec[o.category]
    # Brightness noise shared by all bands (shading, slope) dominates: many bands do
    # not average it away, so per-pixel spectra stay ambiguous.
    img *= scene.illumination * (1 + rng.normal(0, 0.15, img.shape[:2] + (1,)))
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img, 0, None).astype(np.float32)


# ---------------------------------------------------------------- file helpers
# Byte-identical output for a given seed: fixed ZIP timestamps, sorted members,
# no timestamps in PNG/TIFF.
