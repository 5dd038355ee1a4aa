"""evaluator.geometry: polygon IoU against shapely (exact) and the DOTA
devkit's polyiou; HBB IoU against pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pycocotools import mask as mask_utils

from evaluator.formats.voc_xml import rotated_rect_corners
from evaluator.geometry import (
    hbb_iou,
    hbb_to_poly,
    iou_matrix,
    pair_iou,
    poly_iou,
    poly_iou_pairs,
    poly_to_hbb,
)


def rboxes(rng, n, spread=100.0):
    c = rng.uniform(0, spread, (n, 2))
    wh = rng.uniform(5, 40, (n, 2))
    th = rng.uniform(-np.pi, np.pi, n)
    return np.array([rotated_rect_corners(*c[i], *wh[i], th[i]) for i in range(n)])


def shapely_iou(a, b):
    pa, pb = (
        shapely.polygons(a.reshape(-1, 4, 2)),
        shapely.polygons(b.reshape(-1, 4, 2)),
    )
    inter = shapely.area(shapely.intersection(pa[:, None], pb[None, :]))
    return inter / (shapely.area(pa)[:, None] + shapely.area(pb)[None, :] - inter)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotated_boxes_match_shapely(seed):
    rng = np.random.default_rng(seed)
    a, b = rboxes(rng, 120), rboxes(rng, 90)
    ours = poly_iou(a, b)
    assert ours == pytest.approx(shapely_iou(a, b), abs=1e-9)
    assert (ours > 0).sum() > 100  # plenty of overlapping pairs were tested
    # vertex order (clockwise or not, starting corner) does not matter
    rolled = np.roll(a.reshape(-1, 4, 2)[:, ::-1], 1, axis=1).reshape(-1, 8)
    assert poly_iou(rolled, b) == pytest.approx(ours, abs=1e-9)


def test_general_quadrilaterals_match_shapely_and_polyiou():
    """Random quads: simple ones (convex or not) equal shapely; all equal the
    DOTA devkit's polyiou wherever polyiou returns an IoU in [0, 1]."""
    rng = np.random.default_rng(5)
    q1, q2 = rng.uniform(0, 50, (600, 8)), rng.uniform(0, 50, (600, 8))
    ours = poly_iou_pairs(q1, q2)
    p1, p2 = (
        shapely.polygons(q1.reshape(-1, 4, 2)),
        shapely.polygons(q2.reshape(-1, 4, 2)),
    )
    simple = shapely.is_valid(p1) & shapely.is_valid(p2)
    inter = shapely.area(shapely.intersection(p1[simple], p2[simple]))
    ref = inter / (shapely.area(p1[simple]) + shapely.area(p2[simple]) - inter)
    assert ours[simple] == pytest.approx(ref, abs=1e-9)
    assert simple.sum() > 100 and (~shapely.is_valid(p1)).sum() > 100
    pytest.importorskip("dotadevkit")
    from dotadevkit.polyiou import polyiou

    dev = np.array(
        [
            polyiou.iou_poly(
                polyiou.VectorDouble(list(x)), polyiou.VectorDouble(list(y))
            )
            for x, y in zip(q1, q2, strict=True)
        ]
    )
    ok = (dev >= 0) & (dev <= 1)
    assert ok.sum() > 400
    assert ours[ok] == pytest.approx(dev[ok], abs=1e-9)


def test_hbb_matches_pycocotools_and_polygons():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 50, (70, 2))
    a = np.hstack([a, a + rng.uniform(0, 30, (70, 2))])
    b = rng.uniform(0, 50, (40, 2))
    b = np.hstack([b, b + rng.uniform(1, 30, (40, 2))])
    a[0, 2] = a[0, 0]  # a zero-width box: IoU 0, no NaN
    xywh = lambda h: np.hstack([h[:, :2], h[:, 2:] - h[:, :2]]).tolist()  # noqa: E731
    crowd = rng.random(40) < 0.3
    assert hbb_iou(a, b) == pytest.approx(
        mask_utils.iou(xywh(a), xywh(b), [0] * 40), abs=1e-12
    )
    assert iou_matrix(a, b, "hbb", crowd) == pytest.approx(
        mask_utils.iou(xywh(a), xywh(b), crowd.astype(np.uint8).tolist()), abs=1e-12
    )
    assert poly_iou(hbb_to_poly(a), hbb_to_poly(b)) == pytest.approx(
        hbb_iou(a, b), abs=1e-9
    )
    assert poly_to_hbb(hbb_to_poly(a)) == pytest.approx(a)


def test_pairs_equal_matrix_diagonal_and_hand_values():
    rng = np.random.default_rng(2)
    a, b = rboxes(rng, 50, 30), rboxes(rng, 50, 30)
    assert pair_iou(a, b, "obb") == pytest.approx(np.diag(poly_iou(a, b)), abs=1e-12)
    sq = np.array([[0, 0, 2, 0, 2, 2, 0, 2.0]])
    assert poly_iou(sq, sq + 1)[0, 0] == pytest.approx(1 / 7)  # 1 / (4 + 4 - 1)
    diamond = np.array([[1, 0, 2, 1, 1, 2, 0, 1.0]])  # area 2, inside the square
    assert poly_iou(sq, diamond)[0, 0] == pytest.approx(0.5)
    assert poly_iou(sq, sq + 5)[0, 0] == 0.0
    empty = np.zeros((0, 8))
    assert poly_iou(empty, sq).shape == (0, 1) and hbb_iou(
        np.zeros((0, 4)), np.zeros((3, 4))
    ).shape == (0, 3)


def _rotated_boxes(rng, n):
    c = rng.uniform(0, 100, (n, 1, 2))
    ang = rng.uniform(0, np.pi, (n, 1))
    w, h = rng.uniform(0.5, 20, (n, 1)), rng.uniform(0.5, 20, (n, 1))
    dx = np.stack([np.cos(ang), np.sin(ang)], -1)
    dy = np.stack([-np.sin(ang), np.cos(ang)], -1)
    corners = [c + sx * w[..., None] / 2 * dx + sy * h[..., None] / 2 * dy
               for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return np.concatenate(corners, 1).reshape(n, 8)


def test_convex_quad_clipping_equals_the_triangle_fans():
    """Convex pairs are clipped quad against quad; the signed triangle-fan sum
    (kept for every other pair) gives the same areas up to rounding."""
    from evaluator.geometry import (
        _convex,
        _fan_pair_area,
        _orient,
        poly_intersection_pairs,
    )

    rng = np.random.default_rng(23)
    a = _rotated_boxes(rng, 4000)
    b = a + rng.normal(0, 3, a.shape)  # jittered corners: convex or not
    b[::7] = b[::7, ::-1].copy()  # some clockwise
    inter = poly_intersection_pairs(a, b)
    fans = _fan_pair_area(_orient(a), _orient(b))
    conv = _convex(_orient(a)) & _convex(_orient(b))
    assert 1000 < conv.sum() < len(a)  # both paths are exercised
    np.testing.assert_allclose(inter, fans, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(inter[~conv], fans[~conv])  # others: the fans
