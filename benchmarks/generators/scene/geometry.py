"""Scene geometry: rotated rectangles, pixel masks of polygons, distances
between polygons, smooth noise fields, positions named by scene region."""

from __future__ import annotations

import math

import numpy as np

# Scene-region names used by the caption / referring generators.
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


def smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
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


def line_distance(size: int, p: np.ndarray, angle: float) -> np.ndarray:
    """Distance of every pixel centre to the infinite line through p at angle (radians)."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    return np.abs(-(xs - p[0]) * np.sin(angle) + (ys - p[1]) * np.cos(angle))


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


def polygon_contains(outer: np.ndarray, inner: np.ndarray) -> bool:
    a, b = outer, np.roll(outer, -1, axis=0)
    cross = (b[:, None, 0] - a[:, None, 0]) * (inner[None, :, 1] - a[:, None, 1]) - (
        b[:, None, 1] - a[:, None, 1]
    ) * (inner[None, :, 0] - a[:, None, 0])
    return bool(np.all(cross >= -1e-9) or np.all(cross <= 1e-9))
