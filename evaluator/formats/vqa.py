"""VQA truth (RSVQA question/answer/image JSON, or JSON lines) and JSON-lines
answers. Errors name the file and line; hidden answers never appear."""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator.errors import ValidationError
from evaluator.formats.jsonfile import iter_jsonl, load_json
from evaluator.ids import id_str, unique_id_rows
from evaluator.io import Source, preview

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

    def questions():
        for lineno, obj in iter_jsonl(source, name):
            qid = id_str(obj.get("question_id"))
            if qid is None or not isinstance(obj.get("answer"), str | int):
                raise ValidationError(
                    f"{where} line {lineno}: needs question_id and answer"
                )
            yield lineno, (qid, obj)

    for _, qid, (_, obj) in unique_id_rows(
        questions(), where, noun="question_id", id_of=lambda r: r[0]
    ):
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
    unknown: list[str] = []

    def answers():
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
            yield lineno, (qid, str(answer))

    for _, qid, (_, answer) in unique_id_rows(
        answers(), where, noun="question_id", id_of=lambda r: r[0]
    ):
        if qid not in known:
            if not ignored or qid not in ignored:
                unknown.append(qid)
            continue
        out[qid] = answer
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
