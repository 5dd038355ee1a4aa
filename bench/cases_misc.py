"""Captioning, retrieval and registration cases (super-resolution: cases_sr.py).

EarthBench is timed from files (``api.score``). References are fed the same data
already in their own in-memory form (untimed conversion), except pycocoevalcap,
whose timed run includes its PTB tokenizer (the same CoreNLP jar EarthBench runs
when Java is present), because tokenisation is part of its scoring.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from bench.common import (
    Case,
    Prepared,
    Ref,
    eb_score,
    flat,
    warm_evaluator,
)

# --------------------------------------------------------------- captioning

_WORDS = [f"w{i}" for i in range(400)] + [
    "the",
    "a",
    "of",
    "with",
    "and",
    "many",
    "green",
]


def _sentence(rng: np.random.Generator, n: int) -> str:
    words = rng.choice(_WORDS, n)
    return " ".join(words) + (" ." if rng.random() < 0.5 else "")


def _prepare_caption(size: int, work: Path, meteor: bool = False) -> Prepared:
    rng = np.random.default_rng(size)
    refs = {
        i: [_sentence(rng, int(rng.integers(6, 15))) for _ in range(5)]
        for i in range(size)
    }
    hyps = {}
    for i, rs in refs.items():
        w = rs[int(rng.integers(0, 5))].split()
        w[int(rng.integers(0, len(w)))] = str(rng.choice(_WORDS))
        hyps[i] = " ".join(w)
    truth = {
        "images": [{"id": i, "file_name": f"{i}.jpg"} for i in refs],
        "annotations": [
            {"id": k, "image_id": i, "caption": c}
            for k, (i, c) in enumerate((i, c) for i, rs in refs.items() for c in rs)
        ],
    }
    t_path, p_path = work / "truth.json", work / "pred.json"
    t_path.write_text(json.dumps(truth))
    p_path.write_text(
        json.dumps([{"image_id": i, "caption": c} for i, c in hyps.items()])
    )

    def setup():
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer  # noqa: F401

    def run(_):
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        tok = PTBTokenizer()
        gts = tok.tokenize({k: [{"caption": c} for c in rs] for k, rs in refs.items()})
        res = tok.tokenize({k: [{"caption": hyps[k]}] for k in refs})
        b, _ = Bleu(4).compute_score(gts, res, verbose=0)
        out = {f"bleu_{i + 1}": float(b[i]) for i in range(4)}
        out["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
        out["cider_d"] = float(Cider().compute_score(gts, res)[0])
        if meteor:
            from pycocoevalcap.meteor.meteor import Meteor

            m = Meteor()
            try:
                out["meteor"] = float(m.compute_score(gts, res)[0])
            finally:
                with m.lock:
                    m.meteor_p.kill()
                    m.meteor_p.wait()
        return out

    keys = ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider_d"]
    keys += ["meteor"] if meteor else []
    return Prepared(
        eb=eb_score(
            "captioning", p_path, t_path, {"meteor": meteor}, lambda o: flat(o, keys)
        ),
        eb_setup=warm_evaluator,
        refs=[
            Ref(
                "pycocoevalcap Bleu+Rouge+Cider" + ("+Meteor" if meteor else ""),
                run,
                setup,
                "PTBTokenizer (CoreNLP jar) + Bleu(4) + Rouge + Cider"
                + (" + Meteor (METEOR 1.5 jar, one JVM)" if meteor else "")
                + " on in-memory dicts",
            )
        ],
        eb_timed=f"api.score from JSON files, meteor {'on' if meteor else 'off'} (same jars)",
        size_note="5 references/image",
    )


# ---------------------------------------------------------------- retrieval

PER_IMAGE = 5


def _brute_ranks(sim: np.ndarray, owner: np.ndarray, rows: int = 256) -> np.ndarray:
    """Rank of the first relevant item after a full sort of every row (score
    descending, wrong items first on ties: the pessimistic convention)."""
    ranks = np.empty(sim.shape[0], dtype=np.int64)
    for r0 in range(0, sim.shape[0], rows):
        block = sim[r0 : r0 + rows].astype(np.float64)
        true = owner[None, :] == np.arange(r0, r0 + len(block))[:, None]
        order = np.lexsort((true, -block))  # full sort of each row
        hit = np.take_along_axis(true, order, axis=1)
        ranks[r0 : r0 + len(block)] = hit.argmax(axis=1)
    return ranks


def _count_ranks(sim: np.ndarray, col_img: np.ndarray, rows: int = 256):
    """Both directions' ranks by counting, no sort: the rank of the first
    relevant item is the number of wrong items scoring at least the best
    relevant score (ties pessimistic, as the sorted reference)."""
    n_img, n_cap = sim.shape
    i2t = np.empty(n_img, dtype=np.int64)
    for r0 in range(0, n_img, rows):
        block = sim[r0 : r0 + rows]
        true = col_img[None, :] == np.arange(r0, r0 + len(block))[:, None]
        best = np.where(true, block, -np.inf).max(axis=1)
        i2t[r0 : r0 + len(block)] = ((block >= best[:, None]) & ~true).sum(axis=1)
    own = sim[col_img, np.arange(n_cap)]
    t2i = np.zeros(n_cap, dtype=np.int64)
    for r0 in range(0, n_img, rows):
        t2i += (sim[r0 : r0 + rows] >= own[None, :]).sum(axis=0)
    return i2t, t2i - 1  # the relevant image itself is counted once


def _prepare_retrieval(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(size)
    n_cap = size * PER_IMAGE
    col_img = rng.permutation(np.repeat(np.arange(size), PER_IMAGE))
    sim = rng.random((size, n_cap), dtype=np.float32)
    sim[col_img, np.arange(n_cap)] += rng.uniform(0, 0.05, n_cap).astype(np.float32)
    pred = work / "pred"
    pred.mkdir()
    np.save(pred / "similarity.npy", sim)
    img_ids = [f"i{i}" for i in range(size)]
    cap_ids = [f"c{j}" for j in range(n_cap)]
    (pred / "image_ids.txt").write_text("\n".join(img_ids) + "\n")
    (pred / "caption_ids.txt").write_text("\n".join(cap_ids) + "\n")
    truth = work / "truth.json"
    truth.write_text(
        json.dumps({c: img_ids[col_img[j]] for j, c in enumerate(cap_ids)})
    )

    def metrics(i2t, t2i):
        out = {f"i2t_r_at_{k}": float((i2t < k).mean()) for k in (1, 5, 10)}
        out |= {f"t2i_r_at_{k}": float((t2i < k).mean()) for k in (1, 5, 10)}
        out["mr"] = float(np.mean(list(out.values())))
        return out

    def run(_):
        return metrics(_brute_ranks(sim, col_img), _t2i_ranks(sim, col_img))

    def run_count(_):
        return metrics(*_count_ranks(sim, col_img))

    keys = [f"{d}_r_at_{k}" for d in ("i2t", "t2i") for k in (1, 5, 10)] + ["mr"]
    return Prepared(
        eb=eb_score("retrieval", pred, truth, {}, lambda o: flat(o, keys)),
        eb_setup=warm_evaluator,
        refs=[
            Ref(
                "numpy rank counting (no sort)",
                run_count,
                timed="per row/column: wrong items scoring >= the best relevant one, counted (blocks of 256 rows)",
            ),
            Ref(
                "numpy full sort (lexsort per row)",
                run,
                timed="full lexsort of every row (i2t) and column (t2i) of the in-memory matrix",
            ),
        ],
        eb_timed="api.score from similarity.npy + id files + truth JSON",
        size_note=f"images x {PER_IMAGE} captions, float32",
    )


def _t2i_ranks(sim: np.ndarray, col_img: np.ndarray, rows: int = 512) -> np.ndarray:
    """t2i ranks: caption c's row is sim[:, c]; relevant image col_img[c]."""
    n_img, n_cap = sim.shape
    ranks = np.empty(n_cap, dtype=np.int64)
    for c0 in range(0, n_cap, rows):
        block = sim[:, c0 : c0 + rows].T.astype(np.float64)
        true = np.arange(n_img)[None, :] == col_img[c0 : c0 + len(block), None]
        order = np.lexsort((true, -block))
        ranks[c0 : c0 + len(block)] = np.take_along_axis(true, order, axis=1).argmax(1)
    return ranks


# ------------------------------------------------------------- registration


def _rigid(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, :3] = Rotation.random(n, random_state=rng).as_matrix()
    T[:, :3, 3] = rng.normal(0, scale, (n, 3))
    return T


def _small_motion(rng: np.random.Generator, n: int) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, :3] = Rotation.from_rotvec(
        axis * np.radians(rng.uniform(0, 12, (n, 1)))
    ).as_matrix()
    d = rng.normal(size=(n, 3))
    T[:, :3, 3] = (
        d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(0, 0.35, (n, 1))
    )
    return T


def _info(rng: np.random.Generator, n: int) -> np.ndarray:
    """Positive-definite 6x6 information matrices (sum of J'J of 50 points)."""
    P = rng.normal([0.5, -0.3, 2.0], 0.8, (n, 50, 3))
    J = np.zeros((n, 50, 3, 6))
    J[..., :3] = np.eye(3)
    x, y, z = P[..., 0], P[..., 1], P[..., 2]
    J[..., 0, 4], J[..., 0, 5] = z, -y
    J[..., 1, 3], J[..., 1, 5] = -z, x
    J[..., 2, 3], J[..., 2, 4] = y, -x
    return np.einsum("npki,npkj->nij", J, J) * 60  # scaled to ~3000 points


def _log(blocks) -> str:
    return "".join(
        f"{i}\t {j}\t {n}\t\n"
        + "\n".join("\t".join(f"{v: .12e}" for v in row) for row in M)
        + "\n"
        for i, j, n, M in blocks
    )


def _prepare_registration(size: int, work: Path) -> Prepared:
    rng = np.random.default_rng(size)
    n_scenes = 8
    scenes = {}
    for s in range(n_scenes):
        n_pairs = size // n_scenes
        n_frag = int(math.ceil(math.sqrt(2 * n_pairs))) + 3
        allp = [(i, j) for i in range(n_frag) for j in range(i + 1, n_frag)]
        pick = np.sort(rng.choice(len(allp), n_pairs, replace=False))
        pairs = [allp[k] for k in pick]
        gt = _rigid(rng, n_pairs)
        est = gt @ _small_motion(rng, n_pairs)
        info = _info(rng, n_pairs)
        name = f"scene{s}"
        (work / "truth" / name).mkdir(parents=True)
        (work / "truth" / name / "gt.log").write_text(
            _log((i, j, n_frag, M) for (i, j), M in zip(pairs, gt, strict=True))
        )
        (work / "truth" / name / "gt.info").write_text(
            _log((i, j, n_frag, M) for (i, j), M in zip(pairs, info, strict=True))
        )
        (work / "pred").mkdir(exist_ok=True)
        (work / "pred" / f"{name}.log").write_text(
            _log((i, j, n_frag, M) for (i, j), M in zip(pairs, est, strict=True))
        )
        scenes[name] = (pairs, gt, info, est)

    def run(_):
        from scipy.spatial.transform import Rotation

        rrs = []
        for pairs, gt, info, est in scenes.values():
            n_gt = good = 0
            for k, (i, j) in enumerate(pairs):  # Predator evaluate_registration
                if j - i <= 1:
                    continue
                n_gt += 1
                d = np.linalg.inv(gt[k]) @ est[k]
                x, y, z, _w = Rotation.from_matrix(d[:3, :3]).as_quat(canonical=True)
                p = np.concatenate([d[:3, 3], [x, y, z]])
                if p @ info[k] @ p / info[k][0, 0] < 0.2**2:
                    good += 1
            rrs.append(good / n_gt)
        return {"rr": float(np.mean(rrs))}

    return Prepared(
        eb=eb_score(
            "registration", work / "pred", work / "truth", {}, lambda o: flat(o, ["rr"])
        ),
        eb_setup=warm_evaluator,
        refs=[
            Ref(
                "numpy loop (Predator evaluate_registration)",
                run,
                lambda: __import__("scipy.spatial.transform"),
                "per-pair loop over in-memory 4x4/6x6 arrays, scipy quaternions",
            )
        ],
        eb_timed="api.score from gt.log/gt.info/<scene>.log files",
        size_note=f"{n_scenes} scenes",
    )


CASES = [
    Case(
        "captioning",
        "captioning",
        "images",
        (500, 1500, 4000),
        (100, 400),
        _prepare_caption,
    ),
    Case(
        "captioning",
        "captioning-meteor",
        "images",
        (500, 1500),
        (100, 400),
        lambda n, w: _prepare_caption(n, w, meteor=True),
    ),
    Case(
        "retrieval",
        "retrieval",
        "images",
        (500, 1000, 2000),
        (100, 300),
        _prepare_retrieval,
    ),
    Case(
        "registration",
        "registration",
        "pairs",
        (1000, 5000, 20_000),
        (200, 800),
        _prepare_registration,
    ),
]
