"""Detection matching and AP: TP/FP/ignored flags of ranked detections per
image and class (DOTA devkit ``voc_eval`` and pycocotools ``COCOeval`` rules,
see :mod:`evaluator.kinds.detection`), candidate (detection, GT) pairs by box
overlap, and AP from the ranked flags."""

from __future__ import annotations

import numpy as np

from evaluator.geometry import hbb_intersection_pairs

COCO_IOUS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
COCO_RECALLS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
TP, FP, IGNORED = 1, 0, -1


# --- AP from ranked TP/FP flags ---------------------------------------------------


def voc_ap(tp: np.ndarray, fp: np.ndarray, npos: int, use_07: bool) -> float:
    """DOTA/VOC ``voc_ap`` on detections already sorted by descending score."""
    tp, fp = np.cumsum(tp, dtype=np.float64), np.cumsum(fp, dtype=np.float64)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if use_07:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):  # the devkit's exact thresholds
            p = prec[rec >= t].max() if np.any(rec >= t) else 0.0
            ap += p / 11.0
        return float(ap)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def coco_ap(tp: np.ndarray, fp: np.ndarray, npos: int) -> float:
    """pycocotools ``accumulate`` for one class and IoU threshold: mean of the
    101-point interpolated precision."""
    tp, fp = np.cumsum(tp, dtype=np.float64), np.cumsum(fp, dtype=np.float64)
    q = np.zeros(len(COCO_RECALLS))
    if len(tp):
        rc = tp / npos
        pr = tp / (fp + tp + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        inds = np.searchsorted(rc, COCO_RECALLS, side="left")
        ok = inds < len(pr)
        q[ok] = pr[inds[ok]]
    return float(q.mean())


# --- matching ---------------------------------------------------------------------
#
# Both matchers work on candidate pairs (detection d, GT g, IoU v) of the whole
# dataset: same image and class, overlapping enclosing boxes (other pairs have
# IoU 0, below any threshold). Detections are indexed in (image, descending
# score) order and GT in file order, so "first"/"later" below are index order.


def match_voc(pd, pg, iou, n_det: int, difficult: np.ndarray, thresholds) -> np.ndarray:
    """DOTA ``voc_eval`` status (TP/FP/IGNORED) per threshold, all images at once.

    A detection's target is its highest-IoU GT (first on ties) whatever the other
    detections do; a TP is the first detection (by score) claiming a target.
    """
    status = np.full((len(thresholds), n_det), FP, dtype=np.int8)
    if not len(pd):
        return status
    order = np.lexsort((pg, -iou, pd))
    pd, pg, iou = pd[order], pg[order], iou[order]
    head = np.r_[True, pd[1:] != pd[:-1]]  # best pair of each detection
    d, g, v = pd[head], pg[head], iou[head]
    for ti, thr in enumerate(thresholds):
        hit = v >= thr
        hard = hit & difficult[g]
        claim = np.flatnonzero(hit & ~hard)
        _, first = np.unique(g[claim], return_index=True)
        status[ti, d[hard]] = IGNORED
        status[ti, d[claim[first]]] = TP
    return status


def match_coco(
    pd, pg, iou, n_det: int, det_group: np.ndarray, ignore, crowd, thresholds
) -> np.ndarray:
    """pycocotools ``evaluateImg`` greedy matching, all images and thresholds at once.

    Within an (image, class) group detections are matched one after the other
    (score order); groups are independent, so round ``r`` matches the ``r``-th
    detection of every group together. A detection takes, among the GT with
    IoU ≥ t that are unmatched (or crowd), a regular GT before an ignored one,
    then the highest IoU, then the later GT — pycocotools' loop order.
    """
    thr = np.minimum(np.asarray(thresholds, float), 1 - 1e-10)[:, None]
    status = np.full((len(thr), n_det), FP, dtype=np.int8)
    keep = iou >= thr.min()
    pd, pg, iou = pd[keep], pg[keep], iou[keep]
    if not len(pd):
        return status
    dets = np.unique(pd)
    grp = det_group[dets]
    by_grp = np.argsort(grp, kind="stable")  # stable: score order inside a group
    starts = np.r_[0, np.flatnonzero(np.diff(grp[by_grp])) + 1]
    rank = np.empty(len(dets), np.int64)
    rank[by_grp] = np.arange(len(dets)) - np.repeat(
        starts, np.diff(np.r_[starts, len(dets)])
    )
    p_rank = rank[np.searchsorted(dets, pd)]
    ign = ignore[pg]
    order = np.lexsort((-pg, -iou, ign, pd, p_rank))
    pd, pg, iou, ign, p_rank = (
        pd[order],
        pg[order],
        iou[order],
        ign[order],
        p_rank[order],
    )
    bounds = np.searchsorted(p_rank, np.arange(p_rank[-1] + 2))
    matched = np.zeros((len(thr), len(ignore)), bool)
    for r in range(len(bounds) - 1):
        lo, hi = bounds[r], bounds[r + 1]
        d, g = pd[lo:hi], pg[lo:hi]
        seg = np.r_[0, np.flatnonzero(d[1:] != d[:-1]) + 1]
        ok = (iou[lo:hi] >= thr) & (~matched[:, g] | crowd[g])
        pos = np.where(ok, np.arange(hi - lo), hi - lo)
        first = np.minimum.reduceat(pos, seg, axis=1)  # (T, detections of round r)
        ti, si = np.nonzero(first < hi - lo)
        pick = first[ti, si]
        matched[ti, g[pick]] = True
        status[ti, d[seg[si]]] = np.where(ign[lo:hi][pick], IGNORED, TP)
    return status


def candidate_pairs(
    p_key: np.ndarray, p_hbb: np.ndarray, g_key: np.ndarray, g_hbb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(detection, GT) index pairs with equal ``key`` (image, class) whose
    enclosing boxes overlap with positive area; sorted by detection, then GT.

    The cross product of each key group is built with index arithmetic, in
    chunks of detections so that memory stays bounded for dense scenes.
    """
    g_order = np.argsort(g_key, kind="stable")
    gk = g_key[g_order]
    lo = np.searchsorted(gk, p_key, "left")
    cnt = np.searchsorted(gk, p_key, "right") - lo
    ends = np.cumsum(cnt)
    out_d, out_g = [], []
    start = 0
    while start < len(p_key):
        # detections [start, stop) holding at most _PAIR_CHUNK pairs (≥ 1 detection)
        limit = (ends[start - 1] if start else 0) + _PAIR_CHUNK
        stop = max(int(np.searchsorted(ends, limit, "right")), start + 1)
        c = cnt[start:stop]
        d = np.repeat(np.arange(start, stop), c)
        offs = np.arange(len(d)) - np.repeat(np.cumsum(c) - c, c)
        g = g_order[np.repeat(lo[start:stop], c) + offs]
        near = hbb_intersection_pairs(p_hbb[d], g_hbb[g]) > 0
        out_d.append(d[near])
        out_g.append(g[near])
        start = stop
    if not out_d:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_d), np.concatenate(out_g)


_PAIR_CHUNK = 1 << 18  # (detection, GT) pairs tested per batch (≈ 25 MB)
