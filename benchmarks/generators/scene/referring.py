"""Referring expressions: phrases that name exactly one object of a scene."""

from __future__ import annotations

import numpy as np

from benchmarks.generators.scene.geometry import position_name
from benchmarks.generators.scene.model import Scene

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
