"""Box and polygon overlap, vectorised (no Python loop over box pairs).

Conventions:

- Horizontal boxes (HBB) are ``[x1, y1, x2, y2]`` in continuous coordinates:
  area = (x2 - x1)·(y2 - y1), no "+1 pixel" (pycocotools ``maskUtils.iou``).
- Oriented boxes are quadrilaterals ``[x1, y1, …, x4, y4]`` (DOTA order, either
  orientation). Their IoU is the exact polygon IoU computed like the DOTA devkit's
  ``polyiou.iou_poly``: each polygon is normalised to positive orientation, split
  into a fan of signed triangles, and the intersection area is the signed sum of
  the pairwise triangle–triangle intersections (convex clipping,
  Sutherland–Hodgman). For simple polygons (convex or not) this is the exact
  intersection area; for self-intersecting quadrilaterals it is the same
  winding-number integral polyiou returns. IoU is 0 where the union is 0.

Matrix functions first reject pairs whose enclosing HBBs do not overlap (their
polygon IoU is 0) and clip only the remaining pairs, in chunks, so memory stays
bounded for dense scenes.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 65_536  # box pairs clipped per batch (≈ 60 MB of temporaries)


def as_boxes(a, width: int) -> np.ndarray:
    """``(n, width)`` float64 array (empty input → ``(0, width)``)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, width))
    return arr.reshape(-1, width)


def hbb_area(b: np.ndarray) -> np.ndarray:
    b = as_boxes(b, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def hbb_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, m)`` intersection areas of HBBs ``a`` (n, 4) and ``b`` (m, 4)."""
    a, b = as_boxes(a, 4), as_boxes(b, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(
        a[:, None, 0], b[None, :, 0]
    )
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(
        a[:, None, 1], b[None, :, 1]
    )
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def _ratio(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def hbb_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, m)`` IoU matrix of horizontal boxes ``[x1, y1, x2, y2]``."""
    inter = hbb_intersection(a, b)
    union = hbb_area(a)[:, None] + hbb_area(b)[None, :] - inter
    return _ratio(inter, union)


def poly_to_hbb(p: np.ndarray) -> np.ndarray:
    """Enclosing horizontal boxes of quadrilaterals ``(n, 8)`` → ``(n, 4)``."""
    p = as_boxes(p, 8)
    xs, ys = p[:, 0::2], p[:, 1::2]
    return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)


def hbb_to_poly(b: np.ndarray) -> np.ndarray:
    """Horizontal boxes ``(n, 4)`` → quadrilaterals ``(n, 8)`` (clockwise in image
    coordinates, DOTA order)."""
    b = as_boxes(b, 4)
    x1, y1, x2, y2 = b.T
    return np.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=1)


def poly_signed_area(p: np.ndarray) -> np.ndarray:
    """Shoelace signed area of polygons ``(n, k)`` with k/2 vertices."""
    p = np.asarray(p, dtype=np.float64)
    x, y = p[:, 0::2], p[:, 1::2]
    return 0.5 * (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(1)


def poly_area(p: np.ndarray) -> np.ndarray:
    return np.abs(poly_signed_area(as_boxes(p, 8)))


def _shoelace(pts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Signed area of padded polygons ``(k, m, 2)``; invalid slots repeat
    vertex 0, which adds zero-length edges only."""
    filled = np.where(valid[..., None], pts, pts[:, :1])
    x, y = filled[..., 0], filled[..., 1]
    return 0.5 * (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(1)


def _clip_halfplane(pts, n, c0, c1, max_vertices: int = 6):
    """Sutherland–Hodgman step: keep the part of each convex polygon left of
    the directed line c0→c1. ``pts`` (k, m, 2) padded, ``n`` (k,) vertex counts;
    ``max_vertices`` bounds the result (6: a triangle clipped by a triangle; 8: a
    convex quadrilateral clipped by one)."""
    k, m, _ = pts.shape
    slot = np.arange(m)
    valid = slot[None, :] < n[:, None]
    nxt = (slot[None, :] + 1) % np.maximum(n, 1)[:, None]
    q = np.take_along_axis(pts, nxt[..., None], axis=1)
    d = (c1 - c0)[:, None, :]
    side_p = d[..., 0] * (pts[..., 1] - c0[:, None, 1]) - d[..., 1] * (
        pts[..., 0] - c0[:, None, 0]
    )
    side_q = d[..., 0] * (q[..., 1] - c0[:, None, 1]) - d[..., 1] * (
        q[..., 0] - c0[:, None, 0]
    )
    in_p, in_q = side_p >= 0, side_q >= 0
    crosses = (in_p != in_q) & valid
    denom = np.where(crosses, side_p - side_q, 1.0)
    t = np.where(crosses, side_p / denom, 0.0)
    x = pts + t[..., None] * (q - pts)
    # Each input edge p→q emits [intersection if it crosses] then [q if inside].
    out = np.stack([x, q], axis=2).reshape(k, 2 * m, 2)
    keep = np.stack([crosses, in_q & valid], axis=2).reshape(k, 2 * m)
    width = min(2 * m, max_vertices)
    # Kept vertices moved to the front in order (a scatter by running count,
    # cheaper than a stable argsort + gather); slots past the count stay 0.
    slot_of = np.cumsum(keep, axis=1) - 1
    rows, cols = np.nonzero(keep & (slot_of < width))
    packed = np.zeros((k, width, 2))
    packed[rows, slot_of[rows, cols]] = out[rows, cols]
    return packed, np.minimum(keep.sum(1), width)


def _triangle_pair_area(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Intersection area of counter-clockwise triangles ``(k, 3, 2)`` each."""
    pts, n = t1.copy(), np.full(len(t1), 3)
    for e in range(3):
        pts, n = _clip_halfplane(pts, n, t2[:, e], t2[:, (e + 1) % 3])
    valid = np.arange(pts.shape[1])[None, :] < n[:, None]
    return np.abs(_shoelace(pts, valid))


def _fan(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrilaterals (k, 8), positively oriented, as 2 CCW triangles each
    (k, 2, 3, 2) plus the sign of each triangle (k, 2)."""
    v = p.reshape(-1, 4, 2)
    tris = np.stack([v[:, [0, 1, 2]], v[:, [0, 2, 3]]], axis=1)
    a, b, c = tris[..., 0, :], tris[..., 1, :], tris[..., 2, :]
    cross = (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (
        c[..., 0] - a[..., 0]
    ) * (b[..., 1] - a[..., 1])
    sign = np.sign(cross)
    flip = sign < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris, sign


def _orient(p: np.ndarray) -> np.ndarray:
    """Reverse the vertex order of negatively oriented quadrilaterals."""
    p = p.copy()
    neg = poly_signed_area(p) < 0
    p[neg] = p[neg].reshape(-1, 4, 2)[:, ::-1].reshape(-1, 8)
    return p


def _convex(p: np.ndarray) -> np.ndarray:
    """Positively oriented quadrilaterals (k, 8) that are strictly convex."""
    v = p.reshape(-1, 4, 2)
    e = np.roll(v, -1, axis=1) - v
    f = np.roll(e, -1, axis=1)
    return (e[..., 0] * f[..., 1] - e[..., 1] * f[..., 0] > 0).all(axis=1)


def _convex_pair_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of strictly convex, positively oriented quadrilateral
    pairs (k, 8): ``a`` clipped by the 4 edges of ``b`` (≤ 8 vertices)."""
    pts, n = a.reshape(-1, 4, 2).copy(), np.full(len(a), 4)
    vb = b.reshape(-1, 4, 2)
    for e in range(4):
        pts, n = _clip_halfplane(pts, n, vb[:, e], vb[:, (e + 1) % 4], 8)
    valid = np.arange(pts.shape[1])[None, :] < n[:, None]
    return np.abs(_shoelace(pts, valid))


def poly_intersection_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of quadrilateral pairs ``a[i]``, ``b[i]`` (k, 8) → (k,).

    Pairs of strictly convex quadrilaterals (rotated boxes: nearly all) are
    clipped quad against quad (4 steps); any other pair is split into signed
    triangle fans and the 4 triangle pairs are clipped (12 steps)."""
    a, b = as_boxes(a, 8), as_boxes(b, 8)
    out = np.empty(len(a))
    for s in range(0, len(a), _CHUNK):
        oa, ob = _orient(a[s : s + _CHUNK]), _orient(b[s : s + _CHUNK])
        conv = _convex(oa) & _convex(ob)
        out[s : s + len(oa)][conv] = _convex_pair_area(oa[conv], ob[conv])
        rest = ~conv
        if rest.any():
            out[s : s + len(oa)][rest] = _fan_pair_area(oa[rest], ob[rest])
    return out


def _fan_pair_area(oa: np.ndarray, ob: np.ndarray) -> np.ndarray:
    """Intersection area of oriented quadrilateral pairs of any shape, as the
    signed sum over their triangle fans."""
    out = np.empty(len(oa))
    for s in range(0, len(oa), _CHUNK):
        ta, sa = _fan(oa[s : s + _CHUNK])
        tb, sb = _fan(ob[s : s + _CHUNK])
        k = len(ta)
        total = np.zeros(k)
        for i in range(2):
            for j in range(2):
                w = sa[:, i] * sb[:, j]
                live = w != 0
                if live.any():
                    total[live] += w[live] * _triangle_pair_area(
                        ta[live, i], tb[live, j]
                    )
        out[s : s + k] = total
    return out


def poly_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Polygon IoU of quadrilateral pairs (k, 8), (k, 8) → (k,)."""
    a, b = as_boxes(a, 8), as_boxes(b, 8)
    inter = poly_intersection_pairs(a, b)
    return _ratio(inter, poly_area(a) + poly_area(b) - inter)


def _candidate_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs whose enclosing HBBs overlap with positive area."""
    return np.nonzero(hbb_intersection(poly_to_hbb(a), poly_to_hbb(b)) > 0)


def poly_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, m)`` intersection areas of quadrilaterals ``a`` (n, 8), ``b`` (m, 8)."""
    a, b = as_boxes(a, 8), as_boxes(b, 8)
    inter = np.zeros((len(a), len(b)))
    ii, jj = _candidate_pairs(a, b)
    if len(ii):
        # Clipping can leave a tiny negative from rounding: clamp at zero.
        inter[ii, jj] = np.maximum(poly_intersection_pairs(a[ii], b[jj]), 0.0)
    return inter


def poly_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, m)`` exact polygon IoU matrix of quadrilaterals (DOTA order)."""
    a, b = as_boxes(a, 8), as_boxes(b, 8)
    inter = poly_intersection(a, b)
    union = poly_area(a)[:, None] + poly_area(b)[None, :] - inter
    return _ratio(inter, union)


def intersection_and_areas(
    a: np.ndarray, b: np.ndarray, box: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inter (n, m), area_a (n,), area_b (m,))`` for ``box`` 'hbb' or 'obb'."""
    if box == "hbb":
        return hbb_intersection(a, b), hbb_area(a), hbb_area(b)
    if box == "obb":
        return poly_intersection(a, b), poly_area(a), poly_area(b)
    raise ValueError(f"unknown box type {box!r}")


def iou_matrix(
    a: np.ndarray, b: np.ndarray, box: str, crowd: np.ndarray | None = None
) -> np.ndarray:
    """IoU matrix for ``box`` 'hbb' ([x1,y1,x2,y2]) or 'obb' (8-point polygons).

    ``crowd`` (m,) marks columns scored as in pycocotools for ``iscrowd=1``:
    intersection over the area of the row box (the detection) only.
    """
    inter, area_a, area_b = intersection_and_areas(a, b, box)
    union = area_a[:, None] + area_b[None, :] - inter
    if crowd is not None and np.any(crowd):
        union = np.where(np.asarray(crowd, bool)[None, :], area_a[:, None], union)
    return _ratio(inter, union)


def hbb_intersection_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection areas of HBB pairs ``a[i]``, ``b[i]`` (k, 4) → (k,)."""
    a, b = as_boxes(a, 4), as_boxes(b, 4)
    w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def pair_iou(
    a: np.ndarray,
    b: np.ndarray,
    box: str,
    crowd: np.ndarray | None = None,
    areas: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """IoU of row pairs ``a[i]``, ``b[i]`` for ``box`` 'hbb' or 'obb' → (k,).

    ``crowd`` (k,) as in :func:`iou_matrix` (intersection over the area of ``a``).
    ``areas`` ('hbb' only): the boxes' areas as given (COCO ``w·h``) instead of
    ``(x2 − x1)·(y2 − y1)``; with them the arithmetic is pycocotools'
    ``bbIou``: ``i / ((area_a + area_b) − i)``, same rounding.
    Batch all pairs of a dataset into one call: the clipping is vectorised.
    """
    if box == "hbb":
        inter = hbb_intersection_pairs(a, b)
        area_a, area_b = areas if areas is not None else (hbb_area(a), hbb_area(b))
    elif box == "obb":
        inter = np.maximum(poly_intersection_pairs(a, b), 0.0)
        area_a, area_b = poly_area(a), poly_area(b)
    else:
        raise ValueError(f"unknown box type {box!r}")
    union = area_a + area_b - inter
    if crowd is not None:
        union = np.where(np.asarray(crowd, bool), area_a, union)
    return _ratio(inter, union)
