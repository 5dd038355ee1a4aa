"""A shared synthetic overhead scene for the pixel- and object-level demo generators.

A :class:`Scene` is a terrain label map (smooth random regions, thick roads, rotated
building footprints) plus a list of oriented objects (buildings, vehicles, ships,
storage tanks, trees) and relations between them derived from geometry. It renders
to an RGB (or many-band) image whose per-class colours, textures and noise make a
per-pixel classifier good but not perfect. :func:`change_scene` makes a second date
with new/demolished buildings and new roads plus the exact change mask.

Conventions: pixel (row r, column c) covers x in [c, c+1), y in [r, r+1); polygons are
in x,y pixel coordinates, corner order clockwise on screen (y down); an object's mask
is the set of pixels whose centre lies inside its polygon. Object sizes are in pixels
(a fixed ground sampling distance); bigger scenes hold more objects, not bigger ones.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

TERRAIN = ["background", "building", "road", "water", "forest", "farmland", "bare"]
OBJECT_CATEGORIES = ["building", "vehicle", "ship", "storage-tank", "tree"]
PREDICATES = ["next-to", "parks-on", "docks-at", "on", "near"]

BACKGROUND, BUILDING, ROAD, WATER, FOREST, FARMLAND, BARE = range(7)

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
# Scene-quadrant names used by the caption / referring generators.
_COL_NAMES = ("west", "", "east")
_ROW_NAMES = ("north", "", "south")


def position_name(x: float, y: float, size: int) -> str:
    """'north-west', 'north', ..., 'centre' for a point in a size×size scene."""
    col = min(int(3 * x / size), 2)
    row = min(int(3 * y / size), 2)
    parts = [p for p in (_ROW_NAMES[row], _COL_NAMES[col]) if p]
    return "-".join(parts) if parts else "centre"


def rect_polygon(
    cx: float, cy: float, w: float, h: float, angle_deg: float
) -> np.ndarray:
    """Corners of a w×h rectangle centred at (cx, cy), its w side at angle_deg."""
    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    ux, uy, vx, vy = c * w / 2, s * w / 2, -s * h / 2, c * h / 2
    return np.array(
        [
            [cx - ux - vx, cy - uy - vy],
            [cx + ux - vx, cy + uy - vy],
            [cx + ux + vx, cy + uy + vy],
            [cx - ux + vx, cy - uy + vy],
        ]
    )


def polygon_mask(polygon: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool mask of pixels whose centre lies inside a convex polygon."""
    mask = np.zeros((size, size), dtype=bool)
    window = window_mask(polygon, size)
    if window is not None:
        (rows, cols), local = window
        mask[rows, cols] = local
    return mask


_NEXT = [1, 2, 3, 0]


def window_mask(polygon: np.ndarray, size: int):
    """((row slice, col slice), local bool mask) over the polygon's bounding window,
    or None when the window is outside the image."""
    xs_, ys_ = polygon[:, 0].tolist(), polygon[:, 1].tolist()
    c0, r0 = max(math.floor(min(xs_)), 0), max(math.floor(min(ys_)), 0)
    c1, r1 = min(math.ceil(max(xs_)) + 1, size), min(math.ceil(max(ys_)) + 1, size)
    if c0 >= c1 or r0 >= r1:
        return None
    ys = np.arange(r0 + 0.5, r1, dtype=float)[None, :, None]
    xs = np.arange(c0 + 0.5, c1, dtype=float)[None, None, :]
    a = polygon[:, :, None, None]
    e = (
        polygon[_NEXT if len(polygon) == 4 else np.roll(np.arange(len(polygon)), -1)]
        - polygon
    )
    # Cross product of each edge with (pixel - edge start); one sign for all = inside.
    cross = e[:, 0, None, None] * (ys - a[:, 1]) - e[:, 1, None, None] * (xs - a[:, 0])
    inside = (cross >= 0).all(axis=0) | (cross <= 0).all(axis=0)
    return (slice(r0, r1), slice(c0, c1)), inside


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
            self._texture = np.tanh(_smooth_noise(rng, self.size, 1.5))
        return self._texture

    def render(
        self, bands: int = 3, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """(H, W, bands) image: uint8 RGB for bands == 3, float32 reflectance otherwise."""
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        if bands == 3:
            return _render_rgb(self, rng)
        return _render_spectral(self, bands, rng)

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


def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Standardised white noise blurred by a periodic Gaussian (via FFT: O(n² log n)
    whatever sigma is)."""
    f = np.fft.rfftfreq(size)
    g = np.fft.fftfreq(size)
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (g[:, None] ** 2 + f[None, :] ** 2))
    out = np.fft.irfft2(
        np.fft.rfft2(rng.standard_normal((size, size))) * kernel, s=(size, size)
    )
    return (out - out.mean()) / (out.std() + 1e-12)


def inner_distance(mask: np.ndarray, limit: int = 8) -> np.ndarray:
    """Chessboard distance (in pixels, capped at ``limit``) from each True pixel to the
    nearest False pixel; the image border is not a boundary. 0 outside the mask."""
    dist = np.zeros(mask.shape, dtype=np.int16)
    cur = mask.copy()
    for _ in range(limit):
        dist += cur
        p = np.pad(cur, 1, mode="edge")
        cur = cur & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
        cur &= p[:-2, :-2] & p[:-2, 2:] & p[2:, :-2] & p[2:, 2:]
        if not cur.any():
            break
    return dist


def _line_distance(size: int, p: np.ndarray, angle: float) -> np.ndarray:
    """Distance of every pixel centre to the infinite line through p at angle (radians)."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    return np.abs(-(xs - p[0]) * np.sin(angle) + (ys - p[1]) * np.cos(angle))


@dataclass
class _Road:
    point: np.ndarray
    angle: float  # radians
    width: float


def _terrain(rng: np.random.Generator, size: int, urban: bool) -> np.ndarray:
    sigma = size / 10
    fields = np.stack([_smooth_noise(rng, size, sigma) for _ in range(4)])
    bias = [0.6, -0.4, -0.3, 0.1] if urban else [-0.2, 0.3, 0.4, -0.1]
    natural = np.array([BACKGROUND, FOREST, FARMLAND, BARE], dtype=np.uint8)
    label = natural[np.argmax(fields + np.array(bias)[:, None, None], axis=0)]
    if rng.random() < 0.8:
        water = _smooth_noise(rng, size, size / 8)
        label[water > np.quantile(water, 1 - rng.uniform(0.08, 0.22))] = WATER
    return label


def _draw_roads(
    rng: np.random.Generator, label: np.ndarray, urban: bool
) -> list[_Road]:
    size = label.shape[0]
    scale = size / 128
    n = (
        int(round(rng.integers(2, 4) * scale))
        if urban
        else int(round(rng.integers(1, 3) * scale))
    )
    roads = []
    for k in range(max(n, 1)):
        base = (k % 2) * np.pi / 2  # roughly a grid: alternate horizontal / vertical
        angle = base + rng.normal(0, 0.25)
        p = rng.uniform(0.2 * size, 0.8 * size, 2)
        width = rng.uniform(4.0, 6.0) if urban else rng.uniform(3.0, 4.5)
        label[_line_distance(size, p, angle) <= width / 2] = ROAD
        roads.append(_Road(p, angle, width))
    return roads


# ---------------------------------------------------------------- objects


class _Placer:
    """Places non-overlapping objects subject to terrain rules."""

    def __init__(self, scene_label: np.ndarray, rng: np.random.Generator):
        self.label = scene_label
        self.size = scene_label.shape[0]
        self.rng = rng
        self.occupied = np.zeros_like(scene_label, dtype=bool)

    def try_place(
        self,
        polygon: np.ndarray,
        allowed: tuple[int, ...],
        margin: float = 0.0,
        ignore_occupied: bool = False,
    ) -> np.ndarray | None:
        """Mask of polygon if it fits inside the image on allowed terrain, else None.

        margin grows the rectangle on each side for the terrain test (keeps
        buildings off roads and water)."""
        if polygon.min() < 0 or polygon.max() > self.size:
            return None
        lut = _lut(allowed)
        cx, cy = int(polygon[::2, 0].sum() / 2), int(polygon[::2, 1].sum() / 2)
        if not lut[self.label[cy, cx]] or (
            not ignore_occupied and self.occupied[cy, cx]
        ):
            return None  # cheap early rejection on the centre pixel
        for x, y in (0.8 * polygon + 0.2 * np.array([cx, cy])).tolist():
            r, c = int(y), int(x)  # points just inside each corner
            if not lut[self.label[r, c]] or (
                not ignore_occupied and self.occupied[r, c]
            ):
                return None
        test = polygon
        if margin > 0:
            c = polygon.mean(axis=0)
            test = c + (polygon - c) * (
                1 + 2 * margin / np.maximum(_extent(polygon), 1e-6)
            )
        window = window_mask(test, self.size)
        if window is None:
            return None
        sl, local = window
        if not lut[self.label[sl][local]].all():
            return None
        if not ignore_occupied and self.occupied[sl][local].any():
            return None
        mask = polygon_mask(polygon, self.size)
        return mask if mask.any() else None


_LUTS: dict[tuple[int, ...], np.ndarray] = {}


def _lut(allowed: tuple[int, ...]) -> np.ndarray:
    if allowed not in _LUTS:
        lut = np.zeros(256, dtype=bool)
        lut[list(allowed)] = True
        _LUTS[allowed] = lut
    return _LUTS[allowed]


def _extent(polygon: np.ndarray) -> float:
    return float(
        min(
            np.linalg.norm(polygon[1] - polygon[0]),
            np.linalg.norm(polygon[2] - polygon[1]),
        )
    )


def _place_buildings(
    placer: _Placer,
    roads: list[_Road],
    objects: list[SceneObject],
    n: int,
    allowed: tuple[int, ...],
    label_value: int = BUILDING,
) -> int:
    rng, size = placer.rng, placer.size
    free = np.argwhere(_lut(allowed)[placer.label])  # (row, col) of allowed pixels
    placed = 0
    for _ in range(n * 25):
        if placed >= n or not len(free):
            break
        w, h = rng.uniform(7, 16), rng.uniform(6, 12)
        if roads and rng.random() < 0.75:
            # Line the roads: offset perpendicular to a road, aligned with it.
            road = roads[rng.integers(len(roads))]
            t = rng.uniform(-size, size)
            d = np.array([np.cos(road.angle), np.sin(road.angle)])
            nrm = np.array([-d[1], d[0]]) * rng.choice([-1, 1])
            c = road.point + t * d + nrm * (road.width / 2 + h / 2 + rng.uniform(2, 6))
            angle = np.rad2deg(road.angle) + rng.normal(0, 3)
        else:
            r, col = free[rng.integers(len(free))]
            c = np.array([col + 0.5, r + 0.5])
            angle = rng.uniform(0, 180)
        poly = rect_polygon(c[0], c[1], w, h, angle)
        mask = placer.try_place(poly, allowed, margin=1.5)
        if mask is None:
            continue
        placer.label[mask] = label_value
        placer.occupied[mask] = True
        objects.append(
            SceneObject(
                "building", poly, float(rng.uniform(4, 25)), int(rng.integers(4))
            )
        )
        placed += 1
    return placed


def _place_vehicles(placer: _Placer, roads, objects, n: int) -> None:
    rng, size = placer.rng, placer.size
    buildings = [o for o in objects if o.category == "building"]
    placed = 0
    for _ in range(n * 25):
        if placed >= n:
            break
        w, h = rng.uniform(4.0, 6.0), rng.uniform(2.2, 3.0)
        if roads and (not buildings or rng.random() < 0.65):
            road = roads[rng.integers(len(roads))]
            d = np.array([np.cos(road.angle), np.sin(road.angle)])
            nrm = np.array([-d[1], d[0]])
            lane = rng.choice([-1, 1]) * road.width / 4
            c = road.point + rng.uniform(-size, size) * d + lane * nrm
            poly = rect_polygon(
                c[0], c[1], w, h, np.rad2deg(road.angle) + rng.normal(0, 4)
            )
            allowed: tuple[int, ...] = (ROAD,)
        elif buildings:
            # Parked beside a building, parallel to one of its sides.
            b = buildings[rng.integers(len(buildings))]
            bc = np.array(b.center)
            bw, bh = b.size_wh
            t = np.deg2rad(b.angle_deg)
            u, v = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
            side = rng.choice([-1, 1])
            c = (
                bc
                + side * v * (bh / 2 + h / 2 + rng.uniform(0.8, 2.0))
                + u * rng.uniform(-bw / 3, bw / 3)
            )
            poly = rect_polygon(c[0], c[1], w, h, b.angle_deg + 90 * rng.integers(2))
            allowed = (BACKGROUND, BARE, FARMLAND)
        else:
            return
        mask = placer.try_place(poly, allowed)
        if mask is None:
            continue
        placer.occupied[mask] = True
        objects.append(SceneObject("vehicle", poly, 1.6, int(rng.integers(4))))
        placed += 1


def _place_ships(placer: _Placer, objects, n: int) -> None:
    rng = placer.rng
    water = placer.label == WATER
    if water.sum() < 200:
        return
    shore = inner_distance(water)
    near_shore = np.argwhere((shore > 2) & (shore < 6))
    open_water = np.argwhere(shore >= 4)
    placed = 0
    for _ in range(n * 25):
        if placed >= n:
            break
        pool = near_shore if (rng.random() < 0.6 and len(near_shore)) else open_water
        if not len(pool):
            return
        r, c = pool[rng.integers(len(pool))]
        w, h = rng.uniform(7, 13), rng.uniform(2.5, 4.0)
        poly = rect_polygon(c + 0.5, r + 0.5, w, h, rng.uniform(0, 180))
        mask = placer.try_place(poly, (WATER,))
        if mask is None:
            continue
        placer.occupied[mask] = True
        objects.append(SceneObject("ship", poly, 3.0, int(rng.integers(2))))
        placed += 1


def _place_tanks(placer: _Placer, objects, n: int) -> None:
    rng = placer.rng
    buildings = [o for o in objects if o.category == "building"]
    if not buildings:
        return
    placed = 0
    for _ in range(n * 25):
        if placed >= n:
            break
        b = buildings[rng.integers(len(buildings))]
        bc = np.array(b.center)
        bw, bh = b.size_wh
        if rng.random() < 0.25 and min(bw, bh) >= 9:
            # A small tank on the roof: entirely inside the footprint.
            s = rng.uniform(3.0, 4.0)
            t = np.deg2rad(b.angle_deg)
            off = np.array([np.cos(t), np.sin(t)]) * rng.uniform(
                -(bw - s) / 3, (bw - s) / 3
            )
            poly = rect_polygon(*(bc + off), s, s, b.angle_deg)
            mask = placer.try_place(poly, (BUILDING,), ignore_occupied=True)
            if mask is None or (mask & ~polygon_mask(b.polygon, placer.size)).any():
                continue
        else:
            s = rng.uniform(4.5, 7.0)
            ang = rng.uniform(0, 2 * np.pi)
            dist = max(bw, bh) / 2 + s / 2 + rng.uniform(2, 5)
            c = bc + dist * np.array([np.cos(ang), np.sin(ang)])
            poly = rect_polygon(c[0], c[1], s, s, 0.0)
            mask = placer.try_place(poly, (BACKGROUND, BARE))
            if mask is None:
                continue
        placer.occupied[mask] = True
        objects.append(
            SceneObject(
                "storage-tank", poly, float(rng.uniform(5, 12)), int(rng.integers(2))
            )
        )
        placed += 1


def _place_trees(placer: _Placer, objects, n: int) -> None:
    rng = placer.rng
    forest = np.argwhere(placer.label == FOREST)
    if len(forest) < 20:
        return
    placed = 0
    for _ in range(n * 20):
        if placed >= n:
            break
        r, c = forest[rng.integers(len(forest))]
        s = rng.uniform(3.0, 5.0)
        poly = rect_polygon(
            c + 0.5, r + 0.5, s, s * rng.uniform(0.8, 1.0), rng.uniform(0, 90)
        )
        mask = placer.try_place(poly, (FOREST,))
        if mask is None:
            continue
        placer.occupied[mask] = True
        objects.append(
            SceneObject("tree", poly, float(rng.uniform(8, 18)), int(rng.integers(2)))
        )
        placed += 1


# ---------------------------------------------------------------- relations


def polygon_distances(polygons: np.ndarray, within: float = np.inf) -> np.ndarray:
    """(n, n) minimum distances between convex polygons (n, 4, 2); 0 when one holds a
    corner of the other (objects never cross otherwise, so this is exact here).
    Pairs whose bounding circles are farther apart than ``within`` get inf."""
    n = len(polygons)
    dist = np.full((n, n), np.inf)
    if n == 0:
        return dist
    centres = polygons.mean(axis=1)
    radius = np.linalg.norm(polygons - centres[:, None], axis=2).max(axis=1)
    gap = (
        np.linalg.norm(centres[:, None] - centres[None], axis=2)
        - radius[:, None]
        - radius[None]
    )
    ii, jj = np.nonzero(np.triu(gap <= within, k=1))
    if len(ii):
        d = np.minimum(
            _directed(polygons[ii], polygons[jj]), _directed(polygons[jj], polygons[ii])
        )
        dist[ii, jj] = d
        dist[jj, ii] = d
    np.fill_diagonal(dist, 0.0)
    return dist


def _directed(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(m,) min distance from the corners of p[k] to the edges of q[k]; 0 when a
    corner of p[k] lies inside q[k]."""
    sa = q[:, None, :, :]  # (m, 1, 4, 2) edge starts
    ab = np.roll(q, -1, axis=1)[:, None] - sa
    pt = p[:, :, None, :]  # (m, 4, 1, 2)
    t = np.clip(((pt - sa) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    d = np.linalg.norm(pt - (sa + t[..., None] * ab), axis=-1).min(axis=(1, 2))
    cross = ab[..., 0] * (pt[..., 1] - sa[..., 1]) - ab[..., 1] * (
        pt[..., 0] - sa[..., 0]
    )
    inside = (np.all(cross >= 0, axis=2) | np.all(cross <= 0, axis=2)).any(axis=1)
    return np.where(inside, 0.0, d)


def _contains(outer: np.ndarray, inner: np.ndarray) -> bool:
    a, b = outer, np.roll(outer, -1, axis=0)
    cross = (b[:, None, 0] - a[:, None, 0]) * (inner[None, :, 1] - a[:, None, 1]) - (
        b[:, None, 1] - a[:, None, 1]
    ) * (inner[None, :, 0] - a[:, None, 0])
    return bool(np.all(cross >= -1e-9) or np.all(cross <= 1e-9))


def _road_fraction(o: SceneObject, label_map: np.ndarray) -> float:
    window = window_mask(o.polygon, label_map.shape[0])
    if window is None or not window[1].any():
        return 0.0
    sl, local = window
    return float((label_map[sl][local] == ROAD).mean())


def derive_relations(
    objects: list[SceneObject], label_map: np.ndarray
) -> list[tuple[int, str, int]]:
    """Relations from geometry, at most one per ordered pair:

    storage-tank inside a building → on; tank / tree within 6 px of its nearest
    building → near; buildings within 4 px → next-to; a vehicle mostly on road within
    3.5 px of another on-road vehicle → next-to; an off-road vehicle within 3 px of a
    building → parks-on; a ship within 6 px of the shore and 12 px of a building →
    docks-at (nearest building); ships within 5 px → next-to."""
    if not objects:
        return []
    size = label_map.shape[0]
    cats = np.array([o.category for o in objects])
    dist = polygon_distances(np.stack([o.polygon for o in objects]), within=12.0)
    bidx = np.flatnonzero(cats == "building")
    on_road = np.array(
        [
            o.category == "vehicle" and _road_fraction(o, label_map) >= 0.8
            for o in objects
        ]
    )
    water = label_map == WATER
    shore = inner_distance(water) if water.any() else None
    rel: list[tuple[int, str, int]] = []

    def nearest_building(i: int) -> tuple[int, float]:
        if not len(bidx):
            return -1, np.inf
        j = bidx[np.argmin(dist[i, bidx])]
        return int(j), float(dist[i, j])

    for i, cat in enumerate(cats):
        if cat in ("storage-tank", "tree"):
            j, d = nearest_building(i)
            if (
                j >= 0
                and cat == "storage-tank"
                and _contains(objects[j].polygon, objects[i].polygon)
            ):
                rel.append((i, "on", j))
            elif j >= 0 and d <= 6:
                rel.append((i, "near", j))
        elif cat == "vehicle" and not on_road[i]:
            j, d = nearest_building(i)
            if j >= 0 and d <= 3:
                rel.append((i, "parks-on", j))
        elif cat == "ship" and shore is not None:
            j, d = nearest_building(i)
            m = polygon_mask(objects[i].polygon, size)
            if j >= 0 and d <= 12 and m.any() and shore[m].min() <= 6:
                rel.append((i, "docks-at", j))
    # next-to: same category, close (vehicles only when both are on a road).
    limit = np.select(
        [cats == "building", cats == "ship", on_road], [4.0, 5.0, 3.5], -1.0
    )
    pair = (cats[:, None] == cats[None]) & (
        dist <= np.minimum(limit[:, None], limit[None])
    )
    for i, j in zip(*np.nonzero(np.triu(pair, k=1)), strict=True):
        rel.append((int(i), "next-to", int(j)))
    return rel


# ---------------------------------------------------------------- scenes


def make_scene(
    rng: np.random.Generator, size: int = 128, *, urban: bool | None = None
) -> Scene:
    """A random scene; urban scenes have more buildings, roads and vehicles."""
    if urban is None:
        urban = bool(rng.random() < 0.5)
    area = (size / 128) ** 2
    label = _terrain(rng, size, urban)
    roads = _draw_roads(rng, label, urban)
    placer = _Placer(label, rng)
    objects: list[SceneObject] = []

    def count(lo: int, hi: int) -> int:
        return int(round(rng.integers(lo, hi + 1) * area))

    land = (
        (BACKGROUND, BARE, FARMLAND) if urban else (BACKGROUND, BARE, FARMLAND, FOREST)
    )
    _place_buildings(
        placer, roads, objects, count(10, 18) if urban else count(2, 6), land
    )
    _place_tanks(placer, objects, count(1, 4) if urban else count(0, 1))
    _place_vehicles(placer, roads, objects, count(6, 14) if urban else count(1, 4))
    _place_ships(placer, objects, count(1, 5))
    _place_trees(placer, objects, count(2, 6) if urban else count(5, 14))
    return Scene(
        size=size,
        label_map=label,
        objects=objects,
        relations=derive_relations(objects, label),
        is_urban=urban,
        seed=int(rng.integers(2**31)),
        illumination=float(rng.uniform(0.9, 1.1)),
    )


def change_scene(scene: Scene, rng: np.random.Generator) -> tuple[Scene, np.ndarray]:
    """Second date of ``scene``: demolished buildings become bare soil, new buildings
    appear on farmland/bare soil, sometimes a new road; returns (scene, change mask)
    where the mask is exactly ``before.label_map != after.label_map``."""
    size = scene.size
    label = scene.label_map.copy()
    objects = [copy.deepcopy(o) for o in scene.objects]
    for _ in range(5):  # retry until something changed (nearly always the first time)
        label, objects = _apply_changes(rng, label, objects, size, scene.is_urban)
        if (label != scene.label_map).any():
            break
    after = Scene(
        size=size,
        label_map=label,
        objects=objects,
        relations=derive_relations(objects, label),
        is_urban=scene.is_urban,
        seed=int(rng.integers(2**31)),
        illumination=float(rng.uniform(0.85, 1.15)),
        _texture=scene.texture(),
    )
    return after, scene.label_map != label


def _apply_changes(rng, label, objects, size, urban):
    area = (size / 128) ** 2
    # Demolitions (and any roof tank on the building goes with it).
    builds = [i for i, o in enumerate(objects) if o.category == "building"]
    drop: set[int] = set()
    if len(builds) >= 3:
        for i in rng.choice(builds, size=int(rng.integers(0, 3)), replace=False):
            drop.add(int(i))
            m = polygon_mask(objects[i].polygon, size) & (label == BUILDING)
            label[m] = BARE
            for k, o in enumerate(objects):
                if o.category == "storage-tank" and _contains(
                    objects[i].polygon, o.polygon
                ):
                    drop.add(k)
    objects = [o for k, o in enumerate(objects) if k not in drop]
    # A new road (never over water or buildings); trees in its way are cleared.
    if rng.random() < 0.35:
        angle = rng.uniform(0, np.pi)
        p = rng.uniform(0.2 * size, 0.8 * size, 2)
        road = (_line_distance(size, p, angle) <= rng.uniform(3.0, 5.0) / 2) & np.isin(
            label, (BACKGROUND, FOREST, FARMLAND, BARE)
        )
        label[road] = ROAD
        objects = [
            o
            for o in objects
            if o.category == "building"
            or not (polygon_mask(o.polygon, size) & road).any()
        ]
    # New buildings on farmland / bare soil, clear of every existing object.
    placer = _Placer(label, rng)
    for o in objects:
        window = window_mask(o.polygon, size)
        if window is not None:
            placer.occupied[window[0]] |= window[1]
    _place_buildings(
        placer,
        [],
        objects,
        max(1, int(round(rng.integers(1, 5) * area))),
        (FARMLAND, BARE),
    )
    return label, objects


# ---------------------------------------------------------------- rendering


def _object_layers(scene: Scene):
    """(object, window slices, local mask) of the non-building objects, drawn over
    the terrain in list order."""
    for o in scene.objects:
        window = (
            window_mask(o.polygon, scene.size) if o.category != "building" else None
        )
        if window is not None:
            yield o, window[0], window[1]


def _render_rgb(scene: Scene, rng: np.random.Generator) -> np.ndarray:
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


def _render_spectral(scene: Scene, bands: int, rng: np.random.Generator) -> np.ndarray:
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


def write_png(path, array: np.ndarray) -> None:
    """uint8 (H, W) or (H, W, 3) array as PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array)).save(path, format="PNG")


def write_tiff(
    path, array: np.ndarray, geo: tuple[float, float, float] | None = None, nodata=None
) -> None:
    """(H, W) or (H, W, bands) array as TIFF; with ``geo`` = (lon0, lat0, degrees per
    pixel) it carries GeoTIFF tags (EPSG:4326, north-up, top-left corner lon0, lat0)."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    extratags = []
    if geo is not None:
        lon0, lat0, step = geo
        extratags += [
            (33550, "d", 3, (step, step, 0.0), True),  # ModelPixelScale
            (33922, "d", 6, (0.0, 0.0, 0.0, lon0, lat0, 0.0), True),  # ModelTiepoint
            # GeoKeyDirectory: version 1.1.0, 3 keys: raster type = area,
            # model type = geographic, geographic type = EPSG:4326.
            (
                34735,
                "H",
                16,
                (1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326),
                True,
            ),
        ]
    if nodata is not None:
        extratags.append((42113, "s", 0, f"{nodata:g}", True))  # GDAL_NODATA
    planar = "contig" if array.ndim == 3 else None
    tifffile.imwrite(
        path, array, photometric="minisblack", planarconfig=planar, extratags=extratags
    )


def write_csv(path, header: list[str], rows) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def zip_folder(folder, zip_path) -> None:
    """ZIP of every file under ``folder`` (paths relative to it), deterministic."""
    import zipfile
    from pathlib import Path

    folder, zip_path = Path(folder), Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                f.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.read_bytes())


def write_readme(public_dir, text: str) -> None:
    public_dir.mkdir(parents=True, exist_ok=True)
    (public_dir / "README.txt").write_text(text.strip() + "\n", encoding="utf-8")


def stable_seed(seed: int, *names: str) -> int:
    """A seed for one stream of a generator (e.g. 'train', 'test', 'baseline') so that
    adding draws to one stream leaves the others unchanged."""
    import zlib

    return (seed * 1_000_003 + zlib.crc32("/".join(names).encode())) % 2**63


# ---------------------------------------------------------------- referring expressions

_PREDICATE_PHRASES = {
    "next-to": "next to a {o}",
    "parks-on": "parked at a {o}",
    "docks-at": "docked at a {o}",
    "on": "on the roof of a {o}",
    "near": "near a {o}",
}


def display_name(category: str) -> str:
    return category.replace("-", " ")


def _unique_extreme(values: np.ndarray, i: int, largest: bool, margin: float) -> bool:
    """values[i] is the strict max (or min) of values by a relative/absolute margin."""
    if len(values) < 2:
        return False
    others = np.delete(values, i)
    if largest:
        return values[i] > others.max() * (1 + margin)
    return values[i] * (1 + margin) < others.min()


def object_descriptions(scene: Scene, i: int) -> list[str]:
    """Every expression that names object i and no other object of the scene."""
    o = scene.objects[i]
    cat = o.category
    name = display_name(cat)
    same = [k for k, p in enumerate(scene.objects) if p.category == cat]
    pos = same.index(i)
    areas = np.array([scene.objects[k].area for k in same])
    centres = np.array([scene.objects[k].center for k in same])
    regions = [position_name(x, y, scene.size) for x, y in centres]
    region = regions[pos]
    out = []
    if len(same) == 1:
        out.append(f"the {name}")
    if _unique_extreme(areas, pos, True, 0.1):
        out.append(f"the largest {name}")
    if _unique_extreme(areas, pos, False, 0.1):
        out.append(f"the smallest {name}")
    in_region = [k for k, r in enumerate(regions) if r == region]
    where = "in the centre" if region == "centre" else f"in the {region}"
    if len(in_region) == 1 and len(same) > 1:
        out.append(f"the {name} {where}")
    elif len(in_region) > 1:
        local = in_region.index(pos)
        if _unique_extreme(areas[in_region], local, True, 0.1):
            out.append(f"the large {name} {where}")
    d = np.linalg.norm(centres - scene.size / 2, axis=1)
    if (
        len(same) > 1
        and _unique_extreme(d, pos, False, 0.0)
        and np.sort(d)[1] - d[pos] >= 3
    ):
        out.append(f"the {name} closest to the centre")
    for s, pred, obj in scene.relations:
        if s != i:
            continue
        o_cat = scene.objects[obj].category
        peers = {
            a
            for a, p, b in scene.relations
            if p == pred and scene.objects[a].category == cat
        }
        peers &= {
            a for a, p, b in scene.relations if scene.objects[b].category == o_cat
        }
        if peers == {i}:
            out.append(
                f"the {name} " + _PREDICATE_PHRASES[pred].format(o=display_name(o_cat))
            )
    return out


def referring_expressions(
    scene: Scene,
    rng: np.random.Generator,
    max_n: int = 4,
    categories: list[str] | None = None,
) -> list[tuple[int, str]]:
    """Up to max_n (object index, expression) pairs, one per object, each expression
    naming exactly one object of the scene."""
    order = rng.permutation(len(scene.objects))
    out: list[tuple[int, str]] = []
    for i in order:
        if len(out) >= max_n:
            break
        if categories is not None and scene.objects[i].category not in categories:
            continue
        texts = object_descriptions(scene, int(i))
        if texts:
            out.append((int(i), texts[int(rng.integers(len(texts)))]))
    return out


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """NPZ (readable by np.load) with fixed timestamps; np.savez stamps the clock."""
    import io
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
