"""Relations between objects, derived from geometry."""

from __future__ import annotations

import numpy as np

from benchmarks.generators.scene.geometry import (
    inner_distance,
    polygon_contains,
    polygon_distances,
    polygon_mask,
    window_mask,
)
from benchmarks.generators.scene.model import ROAD, WATER, SceneObject


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
                and polygon_contains(objects[j].polygon, objects[i].polygon)
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
