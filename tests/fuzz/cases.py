"""One minimal valid (truth, predictions) pair per evaluator kind.

The formats follow docs/kinds/<kind>.md. A prediction is kept as a dict of
members (relative name -> bytes, or an array for image/NPY/NPZ members) so the
fuzzers can mutate either the structure (arrays, tokens) or the raw bytes, and
write it out as a single file, a folder or a ZIP.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

Member = bytes | np.ndarray | dict[str, np.ndarray]


@dataclass
class Case:
    kind: str
    truth: Path
    pred: dict[str, Member]
    options: dict = field(default_factory=dict)


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def encode(name: str, member: Member) -> bytes:
    """Bytes of one member; arrays are saved in the format its suffix names."""
    if isinstance(member, bytes):
        return member
    if isinstance(member, dict):
        return npz_bytes(member)
    if name.endswith(".npy"):
        return npy_bytes(member)
    if name.endswith(".png"):
        try:
            return png_bytes(member)
        except (TypeError, ValueError, KeyError, IndexError, OSError):
            # Pillow cannot store this dtype/shape as PNG: send it as NPY bytes
            # under the .png name, which the reader must reject cleanly.
            return npy_bytes(member)
    return npy_bytes(member)  # e.g. an array renamed to another suffix


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _csv(header: str, rows) -> bytes:
    return (
        header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    ).encode()


def _jsonl(objs) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objs).encode()


IDS = [f"s{i:02d}" for i in range(6)]


# ---------------------------------------------------------------- builders
# Each takes a fresh folder and a seeded generator and returns a valid Case.


def classification(tmp: Path, rng) -> Case:
    labels = ["Forest", "River", "Urban"]
    truth = [(i, labels[k % 3]) for k, i in enumerate(IDS)]
    (tmp / "truth.csv").write_bytes(_csv("id,label", truth))
    pred = [(i, labels[(k + (k == 2)) % 3]) for k, i in enumerate(IDS)]
    return Case(
        "classification", tmp / "truth.csv", {"pred.csv": _csv("id,label", pred)}
    )


def multilabel(tmp: Path, rng) -> Case:
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]])
    (tmp / "truth.csv").write_bytes(
        _csv("id,a,b,c", [(i, *r) for i, r in zip(IDS, y, strict=True)])
    )
    s = np.round(np.clip(y * 0.7 + rng.uniform(0, 0.3, y.shape), 0, 1), 3)
    pred = _csv("id,a,b,c", [(i, *r) for i, r in zip(IDS, s, strict=True)])
    return Case("multilabel", tmp / "truth.csv", {"pred.csv": pred})


def set_prediction(tmp: Path, rng) -> Case:
    sets = ["1 2 3", "4", "", "2 5", "7 8 9", "1"]
    (tmp / "truth.csv").write_bytes(_csv("id,species", zip(IDS, sets, strict=True)))
    pred = ["1 2", "4 6", "", "5", "9 8 7", "3"]
    return Case(
        "set-prediction",
        tmp / "truth.csv",
        {"pred.csv": _csv("id,predicted", zip(IDS, pred, strict=True))},
    )


def regression(tmp: Path, rng) -> Case:
    y = np.round(rng.normal(10, 3, len(IDS)), 3)
    (tmp / "truth.csv").write_bytes(_csv("id,value", zip(IDS, y, strict=True)))
    p = np.round(y + rng.normal(0, 1, len(IDS)), 3)
    return Case(
        "regression",
        tmp / "truth.csv",
        {"pred.csv": _csv("id,value", zip(IDS, p, strict=True))},
    )


def patch_matching(tmp: Path, rng) -> Case:
    match = [1, 0, 1, 0, 1, 0]
    (tmp / "truth.csv").write_bytes(
        _csv("pair_id,is_match", zip(IDS, match, strict=True))
    )
    dist = [0.1, 0.9, 0.3, 0.2, 0.05, 1.5]
    return Case(
        "patch-matching",
        tmp / "truth.csv",
        {"pred.csv": _csv("pair_id,distance", zip(IDS, dist, strict=True))},
    )


def _masks(
    rng, n_values: int, shape=(12, 10), ignore: bool = False
) -> dict[str, np.ndarray]:
    out = {}
    for i in IDS[:4]:
        m = rng.integers(0, n_values, shape).astype(np.uint8)
        if ignore:
            m[0, :3] = 255
        out[i] = m
    return out


def _noisy(masks: dict[str, np.ndarray], rng, n_values: int) -> dict[str, np.ndarray]:
    out = {}
    for k, m in masks.items():
        p = m.copy()
        p[p == 255] = 0
        flip = rng.random(p.shape) < 0.2
        p[flip] = rng.integers(0, n_values, int(flip.sum()))
        out[k] = p
    return out


def _mask_case(
    kind: str, tmp: Path, rng, n_values: int, options: dict, ignore: bool
) -> Case:
    truth = _masks(rng, n_values, ignore=ignore)
    write_dir(tmp / "truth", {f"{k}.png": png_bytes(v) for k, v in truth.items()})
    pred = {f"{k}.png": v for k, v in _noisy(truth, rng, n_values).items()}
    return Case(kind, tmp / "truth", pred, options)


def segmentation(tmp: Path, rng) -> Case:
    return _mask_case("segmentation", tmp, rng, 3, {"num_classes": 3}, ignore=True)


def change_detection(tmp: Path, rng) -> Case:
    return _mask_case("change-detection", tmp, rng, 2, {}, ignore=True)


def referring_segmentation(tmp: Path, rng) -> Case:
    return _mask_case("referring-segmentation", tmp, rng, 2, {}, ignore=False)


def super_resolution(tmp: Path, rng) -> Case:
    truth = {i: rng.integers(0, 256, (16, 16, 3)).astype(np.uint8) for i in IDS[:3]}
    write_dir(tmp / "truth", {f"{k}.png": png_bytes(v) for k, v in truth.items()})
    pred = {
        f"{k}.png": np.clip(
            v.astype(int) + rng.integers(-9, 10, v.shape), 0, 255
        ).astype(np.uint8)
        for k, v in truth.items()
    }
    return Case("super-resolution", tmp / "truth", pred)


def grounding(tmp: Path, rng) -> Case:
    truth = [
        {"id": i, "box": [10 * k, 5, 10 * k + 20, 30], "text": "the red roof"}
        for k, i in enumerate(IDS)
    ]
    (tmp / "truth.jsonl").write_bytes(_jsonl(truth))
    pred = [
        {"id": i, "box": [10 * k + 2, 6, 10 * k + 21, 29]} for k, i in enumerate(IDS)
    ]
    return Case("grounding", tmp / "truth.jsonl", {"pred.jsonl": _jsonl(pred)})


def detection(tmp: Path, rng) -> Case:
    files, dets = {}, {"plane": [], "ship": []}
    for k, img in enumerate(IDS[:3]):
        lines = []
        for j, cls in enumerate(["plane", "ship"]):
            x, y = 10 + 30 * j + k, 12 + 5 * k
            poly = [x, y, x + 20, y, x + 20, y + 14, x, y + 14]
            lines.append(" ".join(map(str, poly)) + f" {cls} 0")
            dets[cls].append(f"{img} 0.{9 - j} " + " ".join(str(v + 1) for v in poly))
        files[f"labelTxt/{img}.txt"] = (
            "imagesource:GoogleEarth\ngsd:0.5\n" + "\n".join(lines) + "\n"
        ).encode()
    write_dir(tmp / "truth", files)
    pred = {f"Task1_{c}.txt": ("\n".join(v) + "\n").encode() for c, v in dets.items()}
    return Case("detection", tmp / "truth", pred)


def scene_graph(tmp: Path, rng) -> Case:
    boxes = [[0, 0, 10, 10], [20, 20, 40, 40], [5, 30, 15, 45]]
    labels = ["ship", "harbor", "car"]
    truth = {
        i: {
            "boxes": boxes,
            "labels": labels,
            "triplets": [[0, "parked-at", 1], [2, "near", 1]],
        }
        for i in IDS[:3]
    }
    (tmp / "truth.json").write_text(json.dumps(truth))
    pred = {
        i: {
            "boxes": boxes,
            "labels": labels,
            "triplets": [[0, "parked-at", 1, 0.9], [2, "near", 0, 0.4]],
        }
        for i in IDS[:3]
    }
    return Case(
        "scene-graph", tmp / "truth.json", {"pred.json": json.dumps(pred).encode()}
    )


def captioning(tmp: Path, rng) -> Case:
    caps = [
        "a river crosses green fields",
        "many cars parked near a building",
        "a ship in the harbor",
    ]
    truth = {
        "images": [{"id": k, "file_name": f"{i}.jpg"} for k, i in enumerate(IDS[:3])],
        "annotations": [
            {
                "id": 10 * k + r,
                "image_id": k,
                "caption": c if r == 0 else c.replace("a ", "the "),
            }
            for k, c in enumerate(caps)
            for r in range(2)
        ],
    }
    (tmp / "truth.json").write_text(json.dumps(truth))
    pred = [{"image_id": k, "caption": c.split(" ", 1)[1]} for k, c in enumerate(caps)]
    return Case(
        "captioning",
        tmp / "truth.json",
        {"pred.json": json.dumps(pred).encode()},
        {"meteor": False},
    )


def vqa(tmp: Path, rng) -> Case:
    qa = [
        ("yes", "presence"),
        ("3", "count"),
        ("no", "presence"),
        ("rural", "rural_urban"),
    ]
    truth = [{"question_id": k, "answer": a, "type": t} for k, (a, t) in enumerate(qa)]
    (tmp / "truth.jsonl").write_bytes(_jsonl(truth))
    pred = [{"question_id": k, "answer": a} for k, (a, _) in enumerate(qa[:3])] + [
        {"question_id": 3, "answer": "urban"}
    ]
    return Case("vqa", tmp / "truth.jsonl", {"pred.jsonl": _jsonl(pred)})


def retrieval(tmp: Path, rng) -> Case:
    images = IDS[:3]
    caps = {f"c{k}": images[k // 2] for k in range(6)}
    (tmp / "truth.json").write_text(json.dumps(caps))
    sim = rng.normal(size=(3, 6)).astype(np.float32)
    pred = {
        "similarity.npy": sim,
        "image_ids.txt": ("\n".join(images) + "\n").encode(),
        "caption_ids.txt": ("\n".join(caps) + "\n").encode(),
    }
    return Case("retrieval", tmp / "truth.json", pred)


def geo_localization(tmp: Path, rng) -> Case:
    queries, gallery = IDS[:4], [f"g{k}" for k in range(5)]
    (tmp / "truth.csv").write_bytes(
        _csv("query_id,gallery_id", zip(queries, gallery, strict=False))
    )
    pred = {
        "similarity.npy": rng.normal(size=(4, 5)).astype(np.float32),
        "query_ids.txt": ("\n".join(queries) + "\n").encode(),
        "gallery_ids.txt": ("\n".join(gallery) + "\n").encode(),
    }
    return Case("geo-localization", tmp / "truth.csv", pred)


def _homography(rng) -> list[list[float]]:
    H = np.eye(3) + rng.normal(0, 0.01, (3, 3))
    H[2, 2] = 1.0
    return np.round(H, 6).tolist()


def image_matching(tmp: Path, rng) -> Case:
    truth = {i: {"H": _homography(rng), "width": 64, "height": 48} for i in IDS[:4]}
    (tmp / "truth.json").write_text(json.dumps(truth))
    pred = {
        i: (np.array(t["H"]) + rng.normal(0, 1e-4, (3, 3))).tolist()
        for i, t in truth.items()
    }
    pred[IDS[3]] = None
    return Case(
        "image-matching", tmp / "truth.json", {"pred.json": json.dumps(pred).encode()}
    )


def _log(blocks) -> bytes:
    out = []
    for i, j, n, M in blocks:
        out.append(f"{i}\t {j}\t {n}\t\n")
        out.extend("\t".join(f"{v: .9e}" for v in row) + "\n" for row in M)
    return "".join(out).encode()


def registration(tmp: Path, rng) -> Case:
    from scipy.spatial.transform import Rotation

    pairs = [(0, 2), (0, 3), (1, 3), (1, 4), (2, 5)]
    gt, est = [], []
    for _ in pairs:
        T = np.eye(4)
        T[:3, :3] = Rotation.random(random_state=rng).as_matrix()
        T[:3, 3] = rng.normal(0, 1, 3)
        gt.append(T)
        D = np.eye(4)
        D[:3, :3] = Rotation.from_rotvec(rng.normal(0, 0.02, 3)).as_matrix()
        D[:3, 3] = rng.normal(0, 0.02, 3)
        est.append(T @ D)
    info = np.eye(6) * 100.0
    scene = "3DMatch/kitchen"
    write_dir(
        tmp / "truth",
        {
            f"{scene}/gt.log": _log(
                [(i, j, 6, T) for (i, j), T in zip(pairs, gt, strict=True)]
            ),
            f"{scene}/gt.info": _log([(i, j, 6, info) for i, j in pairs]),
        },
    )
    pred = {
        "kitchen.log": _log(
            [(i, j, 6, T) for (i, j), T in zip(pairs, est, strict=True)]
        )
    }
    return Case("registration", tmp / "truth", pred)


def embedding_probe(tmp: Path, rng) -> Case:
    train = [(f"tr{k}", "ab"[k % 2]) for k in range(8)]
    test = [(f"te{k}", "ab"[k % 2]) for k in range(4)]
    write_dir(
        tmp / "truth",
        {"train.csv": _csv("id,label", train), "test.csv": _csv("id,label", test)},
    )
    ids = [i for i, _ in train + test]
    centre = {"a": np.array([1.0, 0, 0, 0]), "b": np.array([0, 1.0, 0, 0])}
    emb = np.stack(
        [centre[lab] + rng.normal(0, 0.1, 4) for _, lab in train + test]
    ).astype(np.float32)
    pred = {"emb.npz": {"ids": np.array(ids), "embeddings": emb}}
    return Case("embedding-probe", tmp / "truth", pred, {"knn_k": 3})


BUILDERS: dict[str, Callable[[Path, np.random.Generator], Case]] = {
    "captioning": captioning,
    "change-detection": change_detection,
    "classification": classification,
    "detection": detection,
    "embedding-probe": embedding_probe,
    "geo-localization": geo_localization,
    "grounding": grounding,
    "image-matching": image_matching,
    "multilabel": multilabel,
    "patch-matching": patch_matching,
    "referring-segmentation": referring_segmentation,
    "registration": registration,
    "regression": regression,
    "retrieval": retrieval,
    "scene-graph": scene_graph,
    "segmentation": segmentation,
    "set-prediction": set_prediction,
    "super-resolution": super_resolution,
    "vqa": vqa,
}


def build(kind: str, tmp: Path, seed: int = 0) -> Case:
    tmp.mkdir(parents=True, exist_ok=True)
    return BUILDERS[kind](tmp, np.random.default_rng(seed))
