"""Terrain, roads and the placement of non-overlapping objects by terrain rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.generators.scene.geometry import (
    inner_distance,
    line_distance,
    polygon_mask,
    rect_polygon,
    smooth_noise,
    window_mask,
)
from benchmarks.generators.scene.model import (
    BACKGROUND,
    BARE,
    BUILDING,
    FARMLAND,
    FOREST,
    ROAD,
    WATER,
    SceneObject,
)


@dataclass
class _Road:
    point: np.ndarray
    angle: float  # radians
    width: float


def terrain(rng: np.random.Generator, size: int, urban: bool) -> np.ndarray:
    sigma = size / 10
    fields = np.stack([smooth_noise(rng, size, sigma) for _ in range(4)])
    bias = [0.6, -0.4, -0.3, 0.1] if urban else [-0.2, 0.3, 0.4, -0.1]
    natural = np.array([BACKGROUND, FOREST, FARMLAND, BARE], dtype=np.uint8)
    label = natural[np.argmax(fields + np.array(bias)[:, None, None], axis=0)]
    if rng.random() < 0.8:
        water = smooth_noise(rng, size, size / 8)
        label[water > np.quantile(water, 1 - rng.uniform(0.08, 0.22))] = WATER
    return label


def draw_roads(
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
        label[line_distance(size, p, angle) <= width / 2] = ROAD
        roads.append(_Road(p, angle, width))
    return roads


# ---------------------------------------------------------------- objects


class Placer:
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


def place_buildings(
    placer: Placer,
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


def place_vehicles(placer: Placer, roads, objects, n: int) -> None:
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


def place_ships(placer: Placer, objects, n: int) -> None:
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


def place_tanks(placer: Placer, objects, n: int) -> None:
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


def place_trees(placer: Placer, objects, n: int) -> None:
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
