"""Readers for the text-based reference and prediction formats (captioning, VQA,
retrieval). Every reader validates and raises :class:`ValidationError` naming the
file, line or id; hidden truth values never appear in messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from evaluator.errors import ValidationError
from evaluator.io import Source, parse_json, preview, read_text


def load_json(source: Source, name: str) -> Any:
    """Parsed JSON of one member (UTF-8 checked), errors with line/column."""
    text = read_text(source, name)
    try:
        return parse_json(text, source.where(name))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source.where(name)} line {exc.lineno} column {exc.colno}: "
            f"invalid JSON ({exc.msg})"
        ) from None


def iter_jsonl(source: Source, name: str) -> Iterator[tuple[int, dict]]:
    """``(line_number, object)`` of a JSON-lines member; blank lines skipped."""
    where = source.where(name)
    for lineno, line in enumerate(read_text(source, name).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = parse_json(line, f"{where} line {lineno}")
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{where} line {lineno}: invalid JSON ({exc.msg})"
            ) from None
        if not isinstance(obj, dict):
            raise ValidationError(
                f"{where} line {lineno}: expected a JSON object, found {type(obj).__name__}"
            )
        yield lineno, obj


def id_str(value: Any) -> str | None:
    """Canonical string form of an id (ints and strings); None if unusable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# Captioning ------------------------------------------------------------------------


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
            raise ValidationError(f"{where}: item {k}: empty caption for image {raw!r}")
        if sid in out:
            raise ValidationError(
                f"{where}: item {k}: duplicate caption for image {raw!r}"
            )
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


# Retrieval -------------------------------------------------------------------------


def read_id_list(source: Source, name: str) -> list[str]:
    """One id per line (blank lines ignored); duplicates are errors."""
    where = source.where(name)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(read_text(source, name).splitlines(), start=1):
        sid = line.strip()
        if not sid:
            continue
        if sid in seen:
            raise ValidationError(
                f"{where} line {lineno}: duplicate id {sid!r} (first on line {seen[sid]})"
            )
        seen[sid] = lineno
        ids.append(sid)
    if not ids:
        raise ValidationError(f"{where}: no ids")
    return ids


def read_pairs_truth(source: Source, name: str) -> dict[str, str]:
    """JSON object ``{caption_id: image_id}`` (several captions per image)."""
    where = source.where(name)
    data = load_json(source, name)
    if not isinstance(data, dict) or not data:
        raise ValidationError(
            f"{where}: expected a JSON object {{caption_id: image_id}}"
        )
    out = {}
    for cap, img in data.items():
        sid = id_str(img)
        if sid is None:
            raise ValidationError(f"{where}: caption {cap!r} has no valid image id")
        out[str(cap)] = sid
    return out


def _read_trec(
    source: Source, name: str, *, layout: str, value_col: int, value_name: str
) -> dict[str, dict[str, float]]:
    """Whitespace-separated TREC lines -> {qid: {docid: value}} (columns 0 and 2)."""
    where = source.where(name)
    n_fields = len(layout.split())
    out: dict[str, dict[str, float]] = {}
    for lineno, line in enumerate(read_text(source, name).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_fields:
            raise ValidationError(
                f"{where} line {lineno}: expected {n_fields} fields {layout!r}, "
                f"found {len(parts)}"
            )
        try:
            value = float(parts[value_col])
        except ValueError:
            raise ValidationError(
                f"{where} line {lineno}: {value_name} {parts[value_col]!r} is not a number"
            ) from None
        if value != value:
            raise ValidationError(f"{where} line {lineno}: {value_name} is NaN")
        docs = out.setdefault(parts[0], {})
        if parts[2] in docs:
            raise ValidationError(
                f"{where} line {lineno}: document {parts[2]!r} listed twice for "
                f"query {parts[0]!r}"
            )
        docs[parts[2]] = value
    if not out:
        raise ValidationError(f"{where}: no {value_name} lines")
    return out


def read_qrels(source: Source, name: str) -> dict[str, dict[str, float]]:
    """TREC qrels ``qid iter docid rel`` -> {qid: {docid: rel}}."""
    return _read_trec(
        source, name, layout="qid 0 docid rel", value_col=3, value_name="relevance"
    )


def read_run(source: Source, name: str) -> dict[str, dict[str, float]]:
    """TREC run ``qid Q0 docid rank score tag`` -> {qid: {docid: score}}.

    Like trec_eval, the rank column is ignored: the score orders the list."""
    return _read_trec(
        source,
        name,
        layout="qid Q0 docid rank score run",
        value_col=4,
        value_name="score",
    )


# VQA -----------------------------------------------------------------------------

#: RSVQA ``type`` strings -> published question-type names
RSVQA_TYPES = {"comp": "comparison", "rural_urban": "rural_urban"}


@dataclass
class VqaTruth:
    ids: list[str]
    answers: list[str]
    types: list[str]
    fmt: str
    #: ids in the truth files but not scored (inactive): predictions for them are ignored
    excluded: set[str] = field(default_factory=set)


def _one(source: Source, suffix: str) -> str | None:
    found = [f for f in source.files() if f.lower().endswith(suffix)]
    if len(found) > 1:
        raise ValidationError(
            f"{source.display}: more than one *{suffix} ({preview(found)})"
        )
    return found[0] if found else None


def _rsvqa(source: Source, qname: str, aname: str) -> VqaTruth:
    qw, aw = source.where(qname), source.where(aname)
    qdata, adata = load_json(source, qname), load_json(source, aname)
    if not isinstance(qdata, dict) or not isinstance(qdata.get("questions"), list):
        raise ValidationError(f"{qw}: expected {{'questions': [...]}}")
    if not isinstance(adata, dict) or not isinstance(adata.get("answers"), list):
        raise ValidationError(f"{aw}: expected {{'answers': [...]}}")
    inactive_imgs: set[str] = set()
    iname = _one(source, "images.json")
    if iname is not None:
        idata = load_json(source, iname)
        for im in idata.get("images", []) if isinstance(idata, dict) else []:
            if isinstance(im, dict) and im.get("active") is False:
                inactive_imgs.add(id_str(im.get("id")) or "")
    answers = {}
    for a in adata["answers"]:
        if (
            isinstance(a, dict)
            and a.get("active", True)
            and isinstance(a.get("answer"), str)
        ):
            answers[id_str(a.get("id"))] = a["answer"]
    ids, ans, types = [], [], []
    seen: set[str] = set()
    excluded: set[str] = set()
    for k, q in enumerate(qdata["questions"]):
        if not isinstance(q, dict):
            raise ValidationError(f"{qw}: questions[{k}] is not an object")
        if not q.get("active", True) or id_str(q.get("img_id")) in inactive_imgs:
            excluded.add(id_str(q.get("id")) or "")
            continue
        qid = id_str(q.get("id"))
        if qid is None:
            raise ValidationError(f"{qw}: questions[{k}] has no id")
        if qid in seen:
            raise ValidationError(f"{qw}: duplicate question id {qid!r}")
        found = [
            answers[id_str(x)]
            for x in q.get("answers_ids") or []
            if id_str(x) in answers
        ]
        if not found:
            excluded.add(qid)  # no active answer: not scorable
            continue
        seen.add(qid)
        ids.append(qid)
        ans.append(found[0])
        t = str(q.get("type") or "all")
        types.append(RSVQA_TYPES.get(t, t))
    return VqaTruth(ids, ans, types, "rsvqa", excluded)


def _vqa_jsonl(source: Source, name: str) -> VqaTruth:
    where = source.where(name)
    ids, ans, types = [], [], []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl(source, name):
        qid = id_str(obj.get("question_id"))
        if qid is None or not isinstance(obj.get("answer"), str | int):
            raise ValidationError(
                f"{where} line {lineno}: needs question_id and answer"
            )
        if qid in seen:
            raise ValidationError(
                f"{where} line {lineno}: duplicate question_id {qid!r}"
            )
        seen[qid] = lineno
        ids.append(qid)
        ans.append(str(obj["answer"]))
        t = str(obj.get("type") or "all")
        types.append(RSVQA_TYPES.get(t, t))
    return VqaTruth(ids, ans, types, "jsonl")


def read_vqa_truth(source: Source) -> VqaTruth:
    """RSVQA ``*_questions.json`` + ``*_answers.json`` (+ ``*_images.json``), or JSONL."""
    qname, aname = _one(source, "questions.json"), _one(source, "answers.json")
    if qname and aname:
        truth = _rsvqa(source, qname, aname)
    else:
        truth = _vqa_jsonl(source, source.single((".jsonl",)))
    if not truth.ids:
        raise ValidationError(f"{source.display}: no active questions with answers")
    return truth


def read_vqa_predictions(
    source: Source, truth_ids: list[str], ignored: set[str] | None = None
) -> dict[str, str]:
    """JSONL ``{"question_id", "answer"}`` -> {question id: answer}.

    Lines for ``ignored`` ids (inactive questions) are accepted and dropped."""
    name = source.single((".jsonl", ".json"))
    where = source.where(name)
    known = set(truth_ids)
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    unknown: list[str] = []
    for lineno, obj in iter_jsonl(source, name):
        if "question_id" not in obj or "answer" not in obj:
            missing = "question_id" if "question_id" not in obj else "answer"
            raise ValidationError(f"{where} line {lineno}: missing key {missing!r}")
        qid = id_str(obj["question_id"])
        if qid is None:
            raise ValidationError(f"{where} line {lineno}: invalid question_id")
        answer = obj["answer"]
        if isinstance(answer, bool) or not isinstance(answer, str | int | float):
            raise ValidationError(
                f"{where} line {lineno}: answer for question {qid!r} must be a string"
            )
        if qid not in known:
            if not ignored or qid not in ignored:
                unknown.append(qid)
            continue
        if qid in out:
            raise ValidationError(
                f"{where} line {lineno}: duplicate question_id {qid!r} "
                f"(first on line {lines[qid]})"
            )
        lines[qid] = lineno
        out[qid] = str(answer)
    if unknown:
        raise ValidationError(
            f"{where}: {len(unknown)} question id(s) not in the test set: {preview(unknown)}"
        )
    missing = [q for q in truth_ids if q not in out]
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} question(s) missing: {preview(missing)}"
        )
    return out
