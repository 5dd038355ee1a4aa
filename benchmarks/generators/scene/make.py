"""Random scenes, and the second date of a scene with its exact change mask."""

from __future__ import annotations

import copy

import numpy as np

from benchmarks.generators.scene.geometry import (
    line_distance,
    polygon_contains,
    polygon_mask,
    window_mask,
)
from benchmarks.generators.scene.layout import (
    Placer,
    draw_roads,
    place_buildings,
    place_ships,
    place_tanks,
    place_trees,
    place_vehicles,
    terrain,
)
from benchmarks.generators.scene.model import (
    BACKGROUND,
    BARE,
    BUILDING,
    FARMLAND,
    FOREST,
    ROAD,
    Scene,
    SceneObject,
)
from benchmarks.generators.scene.relations import derive_relations


def make_scene(
    rng: np.random.Generator, size: int = 128, *, urban: bool | None = None
) -> Scene:
    """A random scene; urban scenes have more buildings, roads and vehicles."""
    if urban is None:
        urban = bool(rng.random() < 0.5)
    area = (size / 128) ** 2
    label = terrain(rng, size, urban)
    roads = draw_roads(rng, label, urban)
    placer = Placer(label, rng)
    objects: list[SceneObject] = []

    def count(lo: int, hi: int) -> int:
        return int(round(rng.integers(lo, hi + 1) * area))

    land = (
        (BACKGROUND, BARE, FARMLAND) if urban else (BACKGROUND, BARE, FARMLAND, FOREST)
    )
    place_buildings(
        placer, roads, objects, count(10, 18) if urban else count(2, 6), land
    )
    place_tanks(placer, objects, count(1, 4) if urban else count(0, 1))
    place_vehicles(placer, roads, objects, count(6, 14) if urban else count(1, 4))
    place_ships(placer, objects, count(1, 5))
    place_trees(placer, objects, count(2, 6) if urban else count(5, 14))
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
                if o.category == "storage-tank" and polygon_contains(
                    objects[i].polygon, o.polygon
                ):
                    drop.add(k)
    objects = [o for k, o in enumerate(objects) if k not in drop]
    # A new road (never over water or buildings); trees in its way are cleared.
    if rng.random() < 0.35:
        angle = rng.uniform(0, np.pi)
        p = rng.uniform(0.2 * size, 0.8 * size, 2)
        road = (line_distance(size, p, angle) <= rng.uniform(3.0, 5.0) / 2) & np.isin(
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
    placer = Placer(label, rng)
    for o in objects:
        window = window_mask(o.polygon, size)
        if window is not None:
            placer.occupied[window[0]] |= window[1]
    place_buildings(
        placer,
        [],
        objects,
        max(1, int(round(rng.integers(1, 5) * area))),
        (FARMLAND, BARE),
    )
    return label, objects


# ---------------------------------------------------------------- rendering
