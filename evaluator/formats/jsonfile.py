"""JSON and JSON-lines members of a source, with errors naming file, line and
column."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from evaluator.errors import ValidationError
from evaluator.ids import parse_id_object
from evaluator.io import Source, parse_json, read_text


def load_json(source: Source, name: str, *, id_keys: str | None = None) -> Any:
    """Parsed JSON of one member (UTF-8 checked), errors with line/column.

    ``id_keys`` (the noun, e.g. ``"caption_id"``): the object's keys are ids, so
    a repeated key is an error naming both lines (:func:`evaluator.ids.parse_id_object`)
    instead of silently keeping the last."""
    text = read_text(source, name)
    try:
        if id_keys is not None:
            return parse_id_object(text, source.where(name), parse_json, noun=id_keys)
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
