"""Caption references (COCO-caption, RSICD, LEVIR-CC) and COCO caption
results. Errors name the file and item; hidden references never appear."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from evaluator.errors import ValidationError
from evaluator.formats.jsonfile import load_json
from evaluator.ids import id_str, unique_id_rows
from evaluator.io import Source, preview


@dataclass
class CaptionTruth:
    """References per image in a fixed order, plus accepted aliases of the ids."""

    ids: list[str]
    refs: list[list[str]]
    fmt: str
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> id


def _sentence_text(sent: Any) -> str | None:
    if isinstance(sent, str):
        return sent
    if isinstance(sent, dict):
        if isinstance(sent.get("raw"), str):
            return sent["raw"]
        if isinstance(sent.get("tokens"), list):
            return " ".join(str(t) for t in sent["tokens"])
    return None


def _karpathy(data: dict, where: str, split: str | None) -> CaptionTruth:
    """RSICD ``dataset_rsicd.json`` / LEVIR-CC ``LevirCCcaptions.json`` layout."""
    images = data["images"]
    fmt = (
        "levir-cc"
        if any(isinstance(im, dict) and "filepath" in im for im in images)
        else "rsicd"
    )
    splits = {im.get("split") for im in images if isinstance(im, dict)}
    want = split if split is not None else ("test" if "test" in splits else None)
    ids, refs, aliases = [], [], {}
    for k, im in enumerate(images):
        if not isinstance(im, dict):
            raise ValidationError(f"{where}: images[{k}] is not an object")
        if want is not None and im.get("split") != want:
            continue
        fname = im.get("filename")
        sid = id_str(fname) or id_str(im.get("imgid"))
        if sid is None:
            raise ValidationError(
                f"{where}: images[{k}] has neither filename nor imgid"
            )
        if sid in aliases:
            raise ValidationError(f"{where}: duplicate image {sid!r}")
        sents = [_sentence_text(s) for s in im.get("sentences") or []]
        if not sents or any(s is None or not s.strip() for s in sents):
            raise ValidationError(
                f"{where}: image {sid!r} has no or empty reference sentences"
            )
        ids.append(sid)
        refs.append(sents)
        for alias in (
            sid,
            id_str(im.get("imgid")),
            fname and PurePosixPath(fname).stem,
        ):
            if alias:
                aliases.setdefault(alias, sid)
    if not ids:
        raise ValidationError(f"{where}: no images in split {want!r}")
    return CaptionTruth(ids, refs, fmt, aliases)


def _coco(data: dict, where: str) -> CaptionTruth:
    by_id: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    for k, im in enumerate(data.get("images") or []):
        sid = id_str(im.get("id")) if isinstance(im, dict) else None
        if sid is None:
            raise ValidationError(f"{where}: images[{k}] has no id")
        if sid in by_id:
            raise ValidationError(f"{where}: duplicate image id {sid!r}")
        by_id[sid] = []
        aliases[sid] = sid
        fname = im.get("file_name")
        if isinstance(fname, str):
            for alias in (fname, PurePosixPath(fname).stem):
                aliases.setdefault(alias, sid)
    for k, ann in enumerate(data["annotations"]):
        sid = id_str(ann.get("image_id")) if isinstance(ann, dict) else None
        cap = ann.get("caption") if isinstance(ann, dict) else None
        if sid is None or not isinstance(cap, str):
            raise ValidationError(
                f"{where}: annotations[{k}] needs image_id and caption"
            )
        if not cap.strip():
            raise ValidationError(f"{where}: empty reference caption for image {sid!r}")
        if sid not in by_id:
            if data.get("images"):
                raise ValidationError(
                    f"{where}: annotations[{k}] refers to unknown image {sid!r}"
                )
            aliases[sid] = sid
        by_id.setdefault(sid, []).append(cap)
    empty = [s for s, r in by_id.items() if not r]
    if empty:
        raise ValidationError(f"{where}: image(s) without references: {preview(empty)}")
    return CaptionTruth(list(by_id), list(by_id.values()), "coco", aliases)


def read_caption_truth(source: Source, split: str | None = None) -> CaptionTruth:
    """Auto-detect COCO-caption / RSICD / LEVIR-CC reference JSON."""
    name = source.single((".json",))
    where = source.where(name)
    data = load_json(source, name)
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        return _coco(data, where)
    if (
        isinstance(data, dict)
        and isinstance(data.get("images"), list)
        and all(isinstance(im, dict) and "sentences" in im for im in data["images"])
    ):
        return _karpathy(data, where, split)
    raise ValidationError(
        f"{where}: unrecognised caption references (expected COCO-caption "
        "{images, annotations} or RSICD/LEVIR-CC {images: [{filename, sentences}]})"
    )


def read_caption_predictions(source: Source, truth: CaptionTruth) -> dict[str, str]:
    """COCO results JSON ``[{"image_id", "caption"}]`` -> {truth id: caption}."""
    name = source.single((".json",))
    where = source.where(name)
    data = load_json(source, name)
    if not isinstance(data, list):
        raise ValidationError(
            f"{where}: expected a JSON list of {{image_id, caption}}, found {type(data).__name__}"
        )
    out: dict[str, str] = {}
    unknown: list[str] = []

    def items():
        for k, item in enumerate(data):
            if (
                not isinstance(item, dict)
                or "image_id" not in item
                or "caption" not in item
            ):
                raise ValidationError(
                    f"{where}: item {k} must be an object with image_id and caption"
                )
            raw = id_str(item["image_id"])
            sid = truth.aliases.get(raw) if raw is not None else None
            if sid is None:
                unknown.append(str(item["image_id"]))
                continue
            cap = item["caption"]
            if not isinstance(cap, str):
                raise ValidationError(
                    f"{where}: item {k} (image {raw!r}): caption must be a string"
                )
            if not cap.strip():
                raise ValidationError(
                    f"{where}: item {k}: empty caption for image {raw!r}"
                )
            yield k, (sid, cap)

    for _, sid, (_, cap) in unique_id_rows(
        items(), where, noun="image_id", unit="item", id_of=lambda r: r[0]
    ):
        out[sid] = cap
    if unknown:
        raise ValidationError(
            f"{where}: {len(unknown)} image id(s) not in the test set: {preview(unknown)}"
        )
    missing = [s for s in truth.ids if s not in out]
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} test image(s) missing: {preview(missing)}"
        )
    return out
