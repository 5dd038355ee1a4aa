"""BigEarthNet v1 and reBEN (BigEarthNet v2).

**BigEarthNet v1** (multilabel): patch folders ``<patch>/<patch>_B01.tif …`` with
``<patch>_labels_metadata.json`` (S2; the S1 archive has the same JSON next to
``_VV``/``_VH``), found anywhere under the source. The test set is
``test.csv`` (the official split lists: one patch name per line; ``train.csv``,
``val.csv``) or ``params.test_list``, else a seeded split. Labels: the 43 original
names (``nomenclature: 43``, default) or the 19-class nomenclature
(``nomenclature: 19``; labels without a 19-class counterpart are dropped).

**reBEN** (multilabel or segmentation): ``BigEarthNet-S2/<tile>/<patch>/<patch>_B02.tif …``,
``BigEarthNet-S1/<product>/<patch>/…``, ``Reference_Maps/<tile>/<patch>/<patch>_reference_map.tif``
(CORINE level-3 codes) and ``metadata.parquet`` (``patch_id``, ``labels``,
``split``, ``s1_name``; needs pyarrow) or the same columns as ``metadata.csv``.
Without metadata, labels are the 19 classes present in the patch's reference map
and the split is seeded. Segmentation truth: the reference map mapped to the 19
classes (0–18, 255 = CORINE classes outside the nomenclature), written as PNG.

Public: ``test/<patch>/`` (the patch's band files; reBEN adds ``s1/`` when the
S1 patch exists), ``train/<patch>/`` + ``train_labels.csv`` (multilabel) or
``train/masks/`` (segmentation), ``classes.txt``, ``sample_submission.csv``.
Truth: ``truth.csv`` (id + one 0/1 column per class) or ``truth/<patch>.png``.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    child,
    place,
    read_json,
    read_lines,
    rel,
    require_file,
    result,
    seeded_test,
    split_params,
)
from benchmarks.writers import write_csv, write_readme

CLASSES_19 = [
    "Urban fabric",
    "Industrial or commercial units",
    "Arable land",
    "Permanent crops",
    "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland and sparsely vegetated areas",
    "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub",
    "Beaches, dunes, sands",
    "Inland wetlands",
    "Coastal wetlands",
    "Inland waters",
    "Marine waters",
]
# CORINE level-3 code -> index in CLASSES_19 (Sumbul et al. 2021); other codes -> ignore.
CLC_TO_19 = {
    111: 0,
    112: 0,
    121: 1,
    211: 2,
    212: 2,
    213: 2,
    221: 3,
    222: 3,
    223: 3,
    241: 3,
    231: 4,
    242: 5,
    243: 6,
    244: 7,
    311: 8,
    312: 9,
    313: 10,
    321: 11,
    333: 11,
    322: 12,
    323: 12,
    324: 13,
    331: 14,
    411: 15,
    412: 15,
    421: 16,
    422: 16,
    511: 17,
    512: 17,
    521: 18,
    522: 18,
    523: 18,
}
# BigEarthNet v1 label names (43) -> 19-class name (None: dropped).
V1_TO_19 = {
    "Continuous urban fabric": 0,
    "Discontinuous urban fabric": 0,
    "Industrial or commercial units": 1,
    "Non-irrigated arable land": 2,
    "Permanently irrigated land": 2,
    "Rice fields": 2,
    "Vineyards": 3,
    "Fruit trees and berry plantations": 3,
    "Olive groves": 3,
    "Annual crops associated with permanent crops": 3,
    "Pastures": 4,
    "Complex cultivation patterns": 5,
    "Land principally occupied by agriculture, with significant areas of natural vegetation": 6,
    "Agro-forestry areas": 7,
    "Broad-leaved forest": 8,
    "Coniferous forest": 9,
    "Mixed forest": 10,
    "Natural grassland": 11,
    "Sparsely vegetated areas": 11,
    "Moors and heathland": 12,
    "Sclerophyllous vegetation": 12,
    "Transitional woodland/shrub": 13,
    "Beaches, dunes, sands": 14,
    "Inland marshes": 15,
    "Peatbogs": 15,
    "Salt marshes": 16,
    "Salines": 16,
    "Water courses": 17,
    "Water bodies": 17,
    "Coastal lagoons": 18,
    "Estuaries": 18,
    "Sea and ocean": 18,
}


def _split_from_lists(source: Path, ids: list[str], params: dict) -> set[str]:
    lst = params.get("test_list") or (
        "test.csv" if (source / "test.csv").is_file() else None
    )
    if lst:
        names = {
            ln.split(",")[0].strip()
            for ln in read_lines(require_file(source / lst, source))
        }
        test = names & set(ids)
        if not test:
            raise ImporterError(
                f"{lst}: none of its {len(names)} patch names is in the source"
            )
        return test
    frac, seed = split_params(params)
    return seeded_test(ids, frac, seed)


def _publish_patch(files: list[Path], dest: Path) -> None:
    for f in files:
        if not f.name.endswith(".json"):
            place(f, dest / f.name)


def _multilabel_out(
    out_dir: Path,
    classes: list[str],
    test: list[tuple[str, set[str]]],
    train: list[tuple[str, set[str]]],
    readme: str,
) -> tuple[Path, Path]:
    public = out_dir / "public"

    def rows(items):
        for sid, labels in items:
            yield [sid] + [int(c in labels) for c in classes]

    write_csv(public / "train_labels.csv", ["id", *classes], rows(train))
    write_csv(
        public / "sample_submission.csv",
        ["id", *classes],
        ([sid] + [0.5] * len(classes) for sid, _ in test),
    )
    (public / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    write_readme(public, readme)
    truth = write_csv(out_dir / "private" / "truth.csv", ["id", *classes], rows(test))
    return public, truth


def import_bigearthnet_v1(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    patches: dict[str, tuple[Path, list[str]]] = {}
    for meta in sorted(source.rglob("*_labels_metadata.json")):
        sid = meta.name[: -len("_labels_metadata.json")]
        if meta.parent.name != sid:
            raise ImporterError(f"{rel(meta, source)}: not in its patch folder {sid}/")
        labels = read_json(meta, source).get("labels")
        if not isinstance(labels, list):
            raise ImporterError(
                f"{rel(meta, source)}: unreadable label ('labels' list missing)"
            )
        if sid in patches:
            raise ImporterError(f"{rel(meta, source)}: patch {sid!r} appears twice")
        patches[sid] = (meta.parent, labels)
    if not patches:
        raise ImporterError(f"{source}: no <patch>/<patch>_labels_metadata.json files")
    nomen = str(params.get("nomenclature", "43"))
    if nomen == "19":
        classes = list(CLASSES_19)
        conv = {
            s: {CLASSES_19[V1_TO_19[x]] for x in labs if x in V1_TO_19}
            for s, (_, labs) in patches.items()
        }
    else:
        conv = {s: set(labs) for s, (_, labs) in patches.items()}
        classes = list(
            params.get("classes") or sorted({x for v in conv.values() for x in v})
        )
        unknown = sorted({x for v in conv.values() for x in v} - set(classes))
        if unknown:
            raise ImporterError(
                f"{source}: labels outside params.classes: {unknown[:3]}"
            )
    test_ids = _split_from_lists(source, sorted(patches), params)
    public = out_dir / "public"
    for sid, (folder, _) in sorted(patches.items()):
        sub = "test" if sid in test_ids else "train"
        if sub == "train" and not params.get("include_train", True):
            continue
        _publish_patch(sorted(folder.iterdir()), public / sub / sid)
    test = [(s, conv[s]) for s in sorted(test_ids)]
    train = [(s, conv[s]) for s in sorted(patches) if s not in test_ids]
    _, truth = _multilabel_out(
        out_dir,
        classes,
        test,
        train,
        """
BigEarthNet multi-label classification. test/<patch>/: the band files of each test
patch. train/<patch>/ with labels in train_labels.csv (id + one 0/1 column per class).
Submit a CSV id,<class1>,...  with a score in [0,1] per class, like sample_submission.csv.
""",
    )
    return result(public, truth, [s for s, _ in test])


# --- reBEN ------------------------------------------------------------------


def _patch_dirs(root: Path | None) -> dict[str, Path]:
    """``{patch_id: folder}`` of ``<root>/<tile or product>/<patch>/`` (names only)."""
    out: dict[str, Path] = {}
    if root is None:
        return out
    for tile in sorted(p for p in root.iterdir() if p.is_dir()):
        for patch in sorted(p for p in tile.iterdir() if p.is_dir()):
            out[patch.name] = patch
    return out


def _parse_labels(value, where: str) -> list[str]:
    if isinstance(value, list | tuple | np.ndarray):
        return [str(x) for x in value]
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return [str(x) for x in json.loads(text)]
        except json.JSONDecodeError:
            pass
        # numpy repr "['a' 'b']": no commas, and literal_eval would concatenate them
        if re.search(r"['\"]\s+['\"]", text) or "," not in text:
            return [a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text)]
        try:
            return [str(x) for x in ast.literal_eval(text)]
        except (ValueError, SyntaxError):
            raise ImporterError(
                f"{where}: unreadable label list {text[:60]!r}"
            ) from None
    return [x.strip() for x in text.split(";") if x.strip()]


def _metadata_rows(source: Path) -> Iterator[dict] | None:
    for name in ("metadata.parquet", "serbia_metadata.parquet"):
        p = source / name
        if p.is_file():
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise ImporterError(
                    f"{name}: reading parquet needs the pyarrow package "
                    "(or give metadata.csv with the same columns)"
                ) from None

            def rows(p=p):
                for batch in pq.ParquetFile(p).iter_batches(batch_size=10_000):
                    yield from batch.to_pylist()

            return rows()
    p = source / "metadata.csv"
    if p.is_file():

        def rows_csv():
            with open(p, newline="", encoding="utf-8") as fh:
                yield from csv.DictReader(fh)

        return rows_csv()
    return None


def _reben_index(source: Path, params: dict):
    s2 = _patch_dirs(child(source, ("BigEarthNet-S2",)))
    s1 = _patch_dirs(child(source, ("BigEarthNet-S1",)))
    refs = _patch_dirs(child(source, ("Reference_Maps",)))
    meta: dict[str, dict] = {}
    rows = _metadata_rows(source)
    if rows is not None:
        for k, r in enumerate(rows, 2):
            pid = r.get("patch_id")
            if not pid:
                raise ImporterError(f"metadata row {k}: no patch_id")
            meta[str(pid)] = {
                "labels": _parse_labels(r.get("labels", ""), f"metadata row {k}"),
                "split": str(r.get("split") or ""),
                "s1": str(r.get("s1_name") or ""),
            }
    return s2, s1, refs, meta


def _ref_map(path: Path, source: Path) -> np.ndarray:
    import tifffile

    try:
        arr = tifffile.imread(path)
    except Exception as exc:
        raise ImporterError(
            f"{rel(path, source)}: unreadable reference map ({exc})"
        ) from None
    if arr.ndim != 2:
        raise ImporterError(
            f"{rel(path, source)}: reference map has shape {arr.shape}, expected 2-D"
        )
    return arr


def _to19(arr: np.ndarray) -> np.ndarray:
    lut = np.full(1000, 255, np.uint8)
    for code, idx in CLC_TO_19.items():
        lut[code] = idx
    return lut[np.clip(arr.astype(np.int64), 0, 999)]


def _reben_split(ids: list[str], meta: dict, params: dict) -> set[str]:
    if meta:
        want = params.get("split", "test")
        return {s for s in ids if meta[s]["split"] == want}
    frac, seed = split_params(params)
    return seeded_test(ids, frac, seed)


def _reben_samples(source: Path, params: dict, need_ref: bool):
    s2, s1, refs, meta = _reben_index(source, params)
    if not s2 and not refs:
        raise ImporterError(
            f"{source}: missing folder `BigEarthNet-S2/` (and `Reference_Maps/`)"
        )
    # Without metadata, the reference maps define the patches (and their labels).
    pool = sorted(meta) if meta else sorted(refs)
    if not pool:
        raise ImporterError(
            f"{source}: no patches (metadata.parquet/csv or Reference_Maps/ needed)"
        )
    mode = params.get("missing_images", "error")
    ids = []
    for pid in pool:
        if need_ref and pid not in refs:
            raise ImporterError(
                f"Reference_Maps/*/{pid}/{pid}_reference_map.tif: missing"
            )
        if pid not in s2 and mode != "ignore":
            if mode == "skip":
                continue
            raise ImporterError(f"BigEarthNet-S2/*/{pid}/: missing S2 patch folder")
        ids.append(pid)
    return ids, s2, s1, refs, meta


def _publish_reben(public: Path, sub: str, pid: str, s2, s1, meta) -> None:
    if pid in s2:
        _publish_patch(sorted(s2[pid].iterdir()), public / sub / pid)
    s1name = meta.get(pid, {}).get("s1")
    if s1name and s1name in s1:
        _publish_patch(sorted(s1[s1name].iterdir()), public / sub / pid / "s1")


def import_reben(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    ids, s2, s1, refs, meta = _reben_samples(source, params, need_ref=False)
    labels: dict[str, set[str]] = {}
    for pid in ids:
        if meta:
            labels[pid] = set(meta[pid]["labels"])
        else:  # reBEN labels are the 19 classes present in the reference map
            present = np.unique(
                _to19(_ref_map(next(refs[pid].glob("*_reference_map.tif")), source))
            )
            labels[pid] = {CLASSES_19[i] for i in present if i != 255}
    unknown = sorted({x for v in labels.values() for x in v} - set(CLASSES_19))
    if unknown:
        raise ImporterError(
            f"metadata: labels outside the 19-class nomenclature: {unknown[:3]}"
        )
    test_ids = _reben_split(ids, meta, params)
    public = out_dir / "public"
    for pid in ids:
        sub = "test" if pid in test_ids else "train"
        if sub == "test" or params.get("include_train", True):
            _publish_reben(public, sub, pid, s2, s1, meta)
    test = [(p, labels[p]) for p in ids if p in test_ids]
    train = [
        (p, labels[p])
        for p in ids
        if p not in test_ids and (not meta or meta[p]["split"] == "train")
    ]
    _, truth = _multilabel_out(
        out_dir,
        list(CLASSES_19),
        test,
        train,
        """
reBEN multi-label classification (19 classes). test/<patch>/: S2 band files (s1/: the
matching Sentinel-1 patch). train/ with labels in train_labels.csv.
Submit a CSV id,<class1>,... with a score in [0,1] per class, like sample_submission.csv.
""",
    )
    return result(public, truth, [p for p, _ in test])


def import_reben_segmentation(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    from PIL import Image

    ids, s2, s1, refs, meta = _reben_samples(source, params, need_ref=True)
    test_ids = _reben_split(ids, meta, params)
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    for pid in ids:
        ref = next(refs[pid].glob("*_reference_map.tif"), None)
        if ref is None:
            raise ImporterError(f"{rel(refs[pid], source)}: no *_reference_map.tif")
        is_test = pid in test_ids
        if not is_test and not params.get("include_train", True):
            continue
        mask = Image.fromarray(_to19(_ref_map(ref, source)))
        dest = truth if is_test else public / "train" / "masks"
        dest.mkdir(parents=True, exist_ok=True)
        mask.save(dest / f"{pid}.png")
        _publish_reben(public, "test" if is_test else "train", pid, s2, s1, meta)
    public.mkdir(parents=True, exist_ok=True)
    (public / "classes.txt").write_text("\n".join(CLASSES_19) + "\n", encoding="utf-8")
    write_readme(
        public,
        """
reBEN pixel-wise land-cover segmentation (19 classes, classes.txt; 255 = ignore).
test/<patch>/: S2 band files (s1/: Sentinel-1). train/<patch>/ + train/masks/<patch>.png.
Submit a ZIP of single-band PNG masks <patch>.png (120x120, values 0-18).
""",
    )
    return result(public, truth, [p for p in ids if p in test_ids])
