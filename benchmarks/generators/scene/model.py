"""Terrain classes, object categories and predicates; the scene and its objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmarks.generators.scene.geometry import polygon_mask, smooth_noise, window_mask

TERRAIN = ["background", "building", "road", "water", "forest", "farmland", "bare"]
OBJECT_CATEGORIES = ["building", "vehicle", "ship", "storage-tank", "tree"]
PREDICATES = ["next-to", "parks-on", "docks-at", "on", "near"]

BACKGROUND, BUILDING, ROAD, WATER, FOREST, FARMLAND, BARE = range(7)


@dataclass(eq=False)  # compared by identity: polygons are arrays
class SceneObject:
    category: str
    polygon: np.ndarray  # (4, 2) float x,y corners, clockwise on screen
    height: float = 0.0  # metres above ground (for DSM bands)
    tone: int = 0  # colour variant index

    @property
    def hbb(self) -> tuple[float, float, float, float]:
        x1, y1 = self.polygon.min(axis=0)
        x2, y2 = self.polygon.max(axis=0)
        return float(x1), float(y1), float(x2), float(y2)

    @property
    def center(self) -> tuple[float, float]:
        cx, cy = self.polygon.mean(axis=0)
        return float(cx), float(cy)

    @property
    def angle_deg(self) -> float:
        """Direction of the first edge in degrees, in [0, 180)."""
        dx, dy = self.polygon[1] - self.polygon[0]
        return float(np.rad2deg(np.arctan2(dy, dx)) % 180.0)

    @property
    def size_wh(self) -> tuple[float, float]:
        w = float(np.linalg.norm(self.polygon[1] - self.polygon[0]))
        h = float(np.linalg.norm(self.polygon[2] - self.polygon[1]))
        return w, h

    @property
    def area(self) -> float:
        """Polygon area (shoelace), in square pixels."""
        x, y = self.polygon[:, 0], self.polygon[:, 1]
        return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@dataclass(eq=False)
class Scene:
    size: int
    label_map: np.ndarray  # (H, W) uint8 terrain class ids
    objects: list[SceneObject]
    relations: list[tuple[int, str, int]]  # (subject index, predicate, object index)
    is_urban: bool
    seed: int = 0  # rendering noise seed
    illumination: float = 1.0
    _texture: np.ndarray | None = field(default=None, repr=False)

    def object_mask(self, i: int) -> np.ndarray:
        return polygon_mask(self.objects[i].polygon, self.size)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(OBJECT_CATEGORIES, 0)
        for o in self.objects:
            out[o.category] += 1
        return out

    def fractions(self) -> dict[str, float]:
        hist = np.bincount(self.label_map.ravel(), minlength=len(TERRAIN))
        return {
            name: float(hist[i] / self.label_map.size) for i, name in enumerate(TERRAIN)
        }

    def texture(self) -> np.ndarray:
        """Fixed per-scene texture field in [-1, 1] (same on both dates of a change pair)."""
        if self._texture is None:
            rng = np.random.default_rng(self.seed ^ 0x5EED)
            self._texture = np.tanh(smooth_noise(rng, self.size, 1.5))
        return self._texture

    def render(
        self, bands: int = 3, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """(H, W, bands) image: uint8 RGB for bands == 3, float32 reflectance otherwise."""
        from benchmarks.generators.scene.render import render_rgb, render_spectral

        rng = rng if rng is not None else np.random.default_rng(self.seed)
        if bands == 3:
            return render_rgb(self, rng)
        return render_spectral(self, bands, rng)

    def heights(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """(H, W) float32 normalised surface heights (an nDSM) in metres."""
        rng = rng if rng is not None else np.random.default_rng(self.seed + 1)
        h = np.where(self.label_map == FOREST, 12.0, 0.0)
        h += np.where(self.label_map == FARMLAND, 0.5, 0.0)
        for o in self.objects:
            window = window_mask(o.polygon, self.size)
            if window is not None:
                sl, local = window
                h[sl][local] = np.maximum(h[sl][local], o.height)
        h += rng.normal(0, 0.4, h.shape)
        return np.clip(h, 0, None).astype(np.float32)


# ---------------------------------------------------------------- terrain
