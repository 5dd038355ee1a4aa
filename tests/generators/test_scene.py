"""The shared synthetic scene: determinism, geometry agreement, change masks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from benchmarks.generators.scene import geometry, make, model, referring, render


def _scene(seed: int, size: int = 128, urban=None) -> model.Scene:
    return make.make_scene(np.random.default_rng(seed), size, urban=urban)


def test_deterministic():
    a, b = _scene(3), _scene(3)
    assert np.array_equal(a.label_map, b.label_map)
    assert [o.category for o in a.objects] == [o.category for o in b.objects]
    assert all(
        np.array_equal(p.polygon, q.polygon)
        for p, q in zip(a.objects, b.objects, strict=True)
    )
    assert a.relations == b.relations
    assert np.array_equal(a.render(), b.render())
    assert np.array_equal(a.render(8), b.render(8))
    assert not np.array_equal(a.label_map, _scene(4).label_map)


@pytest.mark.parametrize("seed", range(6))
def test_objects_inside_image_and_masks_agree_with_boxes(seed):
    sc = _scene(seed, urban=seed % 2 == 0)
    assert sc.label_map.dtype == np.uint8 and sc.label_map.shape == (128, 128)
    assert sc.objects, "a scene always has objects"
    for i, o in enumerate(sc.objects):
        assert o.category in model.OBJECT_CATEGORIES
        assert o.polygon.shape == (4, 2)
        assert o.polygon.min() >= 0 and o.polygon.max() <= sc.size
        m = sc.object_mask(i)
        assert m.any()
        rows, cols = np.nonzero(m)
        x1, y1, x2, y2 = o.hbb
        assert cols.min() + 0.5 >= x1 and cols.max() + 0.5 <= x2
        assert rows.min() + 0.5 >= y1 and rows.max() + 0.5 <= y2
        assert o.area == pytest.approx(Polygon(o.polygon).area)
        # Terrain rules: buildings are drawn into the map, ships sit on water, trees in forest.
        expected = {"building": model.BUILDING, "ship": model.WATER, "tree": model.FOREST}.get(
            o.category
        )
        if expected is not None:
            assert (sc.label_map[m] == expected).all()
    # Polygons are clockwise on screen (positive shoelace sum with y pointing down).
    p = sc.objects[0].polygon
    assert np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]) > 0


def test_non_roof_objects_do_not_overlap():
    sc = _scene(2, urban=True)
    total = np.zeros((sc.size, sc.size), int)
    for i, o in enumerate(sc.objects):
        if o.category != "storage-tank":
            total += sc.object_mask(i)
    assert total.max() == 1


def test_polygon_mask_matches_shapely():
    rng = np.random.default_rng(0)
    for _ in range(20):
        poly = geometry.rect_polygon(
            *rng.uniform(5, 27, 2), *rng.uniform(2, 12, 2), rng.uniform(0, 180)
        )
        mask = geometry.polygon_mask(poly, 32)
        shape = Polygon(poly)
        ref = np.array(
            [
                [shape.contains(Point(c + 0.5, r + 0.5)) for c in range(32)]
                for r in range(32)
            ]
        )
        # Pixel centres exactly on an edge may go either way; none occur for random floats.
        assert np.array_equal(mask, ref)


def test_polygon_distances_match_shapely():
    rng = np.random.default_rng(1)
    polys = np.stack(
        [
            geometry.rect_polygon(
                *rng.uniform(0, 60, 2), *rng.uniform(2, 10, 2), rng.uniform(0, 180)
            )
            for _ in range(12)
        ]
    )
    dist = geometry.polygon_distances(polys)
    shapes = [Polygon(p) for p in polys]
    for i in range(12):
        for j in range(12):
            ref = shapely.distance(shapes[i], shapes[j])
            if ref > 0:
                assert dist[i, j] == pytest.approx(ref, abs=1e-9)
            elif shapes[i].contains(shapely.points(polys[j][0])) or shapes[j].contains(
                shapely.points(polys[i][0])
            ):
                assert dist[i, j] == 0


def test_relations_follow_geometry():
    seen = set()
    for seed in range(12):
        sc = _scene(seed)
        dist = geometry.polygon_distances(np.stack([o.polygon for o in sc.objects]))
        for s, p, o in sc.relations:
            assert p in model.PREDICATES and s != o
            cs, co = sc.objects[s].category, sc.objects[o].category
            seen.add(p)
            if p == "next-to":
                assert cs == co and dist[s, o] <= 5
            elif p == "on":
                assert (cs, co) == ("storage-tank", "building")
                assert (
                    Polygon(sc.objects[o].polygon)
                    .buffer(1e-6)
                    .contains(Polygon(sc.objects[s].polygon))
                )
            else:
                assert co == "building" and dist[s, o] <= 12
    assert seen == set(model.PREDICATES)


def test_counts_and_fractions():
    sc = _scene(5)
    assert sum(sc.counts().values()) == len(sc.objects)
    assert set(sc.counts()) == set(model.OBJECT_CATEGORIES)
    assert sum(sc.fractions().values()) == pytest.approx(1.0)
    assert sc.fractions()["building"] == pytest.approx(
        (sc.label_map == model.BUILDING).mean()
    )


def test_render_shapes_and_colours():
    sc = _scene(6)
    rgb = sc.render()
    assert rgb.shape == (128, 128, 3) and rgb.dtype == np.uint8
    spec = sc.render(12)
    assert spec.shape == (128, 128, 12) and spec.dtype == np.float32
    h = sc.heights()
    assert (
        h.shape == (128, 128)
        and h[sc.label_map == model.BUILDING].mean() > h[sc.label_map == model.WATER].mean()
    )
    # Good but not perfect for a nearest-colour classifier.
    d = ((rgb[:, :, None, :].astype(float) - render._TERRAIN_RGB[None, None]) ** 2).sum(-1)
    acc = (d.argmin(-1) == sc.label_map).mean()
    assert 0.4 < acc < 0.97


@pytest.mark.parametrize("seed", range(5))
def test_change_mask_is_label_difference(seed):
    before = _scene(seed, urban=True)
    snapshot = before.label_map.copy()
    after, change = make.change_scene(before, np.random.default_rng(100 + seed))
    assert np.array_equal(before.label_map, snapshot), "the first date is not modified"
    assert np.array_equal(change, before.label_map != after.label_map)
    assert change.any()
    old = before.label_map[change]
    new = after.label_map[change]
    # New buildings only on farmland/bare; demolitions become bare; new roads.
    assert set(np.unique(new)) <= {model.BUILDING, model.BARE, model.ROAD}
    assert set(np.unique(old[new == model.BUILDING])) <= {model.FARMLAND, model.BARE}
    assert set(np.unique(old[new == model.BARE])) <= {model.BUILDING}
    for i, o in enumerate(after.objects):
        assert after.object_mask(i).any()
        if o.category == "building":
            assert (after.label_map[after.object_mask(i)] == model.BUILDING).all()
    again, change2 = make.change_scene(
        _scene(seed, urban=True), np.random.default_rng(100 + seed)
    )
    assert np.array_equal(change, change2) and np.array_equal(
        again.render(), after.render()
    )


def test_referring_expressions_are_unique():
    for seed in range(6):
        sc = _scene(seed)
        exprs = referring.referring_expressions(sc, np.random.default_rng(seed), 6)
        assert exprs
        for i, text in exprs:
            assert referring.display_name(sc.objects[i].category) in text
            # No other object yields the same description.
            assert all(
                text not in referring.object_descriptions(sc, j)
                for j in range(len(sc.objects))
                if j != i
            )


def test_position_names():
    assert geometry.position_name(5, 5, 90) == "north-west"
    assert geometry.position_name(45, 45, 90) == "centre"
    assert geometry.position_name(85, 45, 90) == "east"
    assert geometry.position_name(45, 89, 90) == "south"


def test_larger_scenes_hold_more_objects():
    assert len(_scene(1, 256, urban=True).objects) > len(
        _scene(1, 128, urban=True).objects
    )
