"""Retrieval truth: caption-to-image pairs (JSON) and TREC qrels/run files."""

from __future__ import annotations

from evaluator.errors import ValidationError
from evaluator.formats.jsonfile import load_json
from evaluator.ids import id_str
from evaluator.io import Source, read_text


def read_pairs_truth(source: Source, name: str) -> dict[str, str]:
    """JSON object ``{caption_id: image_id}`` (several captions per image)."""
    where = source.where(name)
    data = load_json(source, name, id_keys="caption_id")
    if not isinstance(data, dict) or not data:
        raise ValidationError(
            f"{where}: expected a JSON object {{caption_id: image_id}}"
        )
    images = list(data.values())
    if all(type(img) is str for img in images):
        stripped = [img.strip() for img in images]
        if all(stripped):  # what id_str gives each (the loop below finds a bad one)
            return dict(zip(map(str, data), stripped, strict=True))
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
