"""Sample ids in participant files: one reader for id lists, one check for
repeated ids, one error for them.

Every kind that reads ids (CSV rows, JSON lines, JSON items, keys of a JSON
object, id lists next to a matrix, an ``ids`` array) passes them through
:func:`unique_id_rows`, so a repeated id always reads::

    <file> line 7: duplicate id 's03' (first on line 4)

(``item``/``row`` instead of ``line`` where the file has no lines: a JSON list,
an array). ``tests/evaluator/test_duplicate_ids.py`` checks this for every
registered kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from evaluator.errors import ValidationError
from evaluator.io import Source, read_text


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


def duplicate_error(
    where: str, pos: int, sid: str, first: int, *, noun: str = "id", unit: str = "line"
) -> ValidationError:
    """The one message for a repeated id: file, position, id, first position."""
    return ValidationError(
        f"{where} {unit} {pos}: duplicate {noun} {sid!r} (first on {unit} {first})"
    )


def unique_id_rows(
    rows: Iterable[tuple[int, Any]],
    where: str,
    *,
    noun: str = "id",
    unit: str = "line",
    id_of: Callable[[Any], str | None] = lambda row: row[0],
) -> Iterator[tuple[int, str, Any]]:
    """``(position, id, row)`` for ``(position, row)`` pairs whose id
    (``id_of(row)``, by default the first CSV field) is non-empty and seen once;
    an empty or repeated id is an error naming the position (and the first)."""
    seen: dict[str, int] = {}
    for pos, row in rows:
        sid = id_of(row)
        if not sid:
            raise ValidationError(f"{where} {unit} {pos}: empty {noun}")
        first = seen.setdefault(sid, pos)
        if first != pos:
            raise duplicate_error(where, pos, sid, first, noun=noun, unit=unit)
        yield pos, sid, row


def read_id_list(source: Source, name: str, *, noun: str = "id") -> list[str]:
    """One id per line (the row order of a matrix beside it): surrounding spaces
    and trailing blank lines are ignored; an empty line before the last id, a
    repeated id or no id at all is an error naming the file and line."""
    where = source.where(name)
    lines = [line.strip() for line in read_text(source, name).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if lines and all(lines) and len(set(lines)) == len(lines):
        return lines  # the usual file: no empty line, no repeat (else: find which)
    rows = enumerate(lines, start=1)
    ids = [
        sid for _, sid, _ in unique_id_rows(rows, where, noun=noun, id_of=lambda s: s)
    ]
    if not ids:
        raise ValidationError(f"{where}: no {noun}s")
    return ids


class _Repeated(Exception):
    pass


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        raise _Repeated(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


def parse_id_object(
    text: str, where: str, parse: Callable[..., Any], *, noun: str = "id"
) -> Any:
    """``parse(text, where, object_pairs_hook=…)`` where a key repeated in any
    JSON object is an error; one repeated among the top-level keys (the ids)
    names both lines. ``parse`` is :func:`evaluator.io.parse_json` with the
    caller's handling of invalid JSON."""
    try:
        return parse(text, where, object_pairs_hook=_refuse_repeated_keys)
    except _Repeated as exc:
        key = exc.args[0]
        lines = _top_level_key_lines(text, key)
        if len(lines) >= 2:
            raise duplicate_error(where, lines[1], key, lines[0], noun=noun) from None
        raise ValidationError(f"{where}: duplicate key {key!r}") from None


_WS = re.compile(r"[ \t\n\r]*")


def _top_level_key_lines(text: str, key: str) -> list[int]:
    """Lines of the top-level members named ``key`` of a JSON object (only
    called once the parser found a repeated key, so the text parses)."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    try:
        i = _WS.match(text, 0).end()
        if text[i] != "{":
            return []
        i += 1
        while True:
            i = _WS.match(text, i).end()
            if text[i] != '"':
                return lines
            start = i
            name, i = json.decoder.scanstring(text, i + 1)
            if name == key:
                lines.append(text.count("\n", 0, start) + 1)
            i = _WS.match(text, i).end() + 1  # the colon
            _, i = decoder.raw_decode(text, _WS.match(text, i).end())
            i = _WS.match(text, i).end()
            if text[i] != ",":
                return lines
            i += 1
    except (ValueError, IndexError, RecursionError):
        return lines
