"""``python -m evaluator``: the exact scorer the leaderboard uses, locally.

    python -m evaluator kinds
    python -m evaluator describe KIND
    python -m evaluator score --kind KIND --predictions PATH --truth PATH
                              [--options JSON] [--samples]
                              [--ids FILE] [--bootstrap N --seed S] [--blocks FILE]
                              [--primary KEY] [--draws]

``score`` prints one JSON object of metrics; exit 0 on success, 2 with a
one-line error on stderr for invalid input or options. With ``--ids`` (one
sample id per line: e.g. a leaderboard split's ids) only those samples are
scored; with ``--bootstrap N`` the object is what the leaderboard stores for a
split — ``{"metrics", "primary_value", "ci", "n_resamples", "seed"}`` (plus
``primary_draws`` and ``draws_key`` with ``--draws``) — computed by the same
``evaluator.scoring.score_splits`` the platform calls, so a leaderboard score
and its intervals are reproduced exactly (the platform uses seed 0).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from evaluator.errors import ValidationError


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m evaluator")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("kinds", help="list the task kinds")
    d = sub.add_parser("describe", help="options, metrics and formats of a kind")
    d.add_argument("kind")
    s = sub.add_parser("score", help="score predictions against ground truth")
    s.add_argument("--kind", required=True)
    s.add_argument("--predictions", required=True)
    s.add_argument("--truth", required=True)
    s.add_argument("--options", default="{}", help="JSON object of kind options")
    s.add_argument(
        "--samples", action="store_true", help="include per-sample contributions"
    )
    s.add_argument("--ids", help="file of sample ids (one per line) to score: a subset")
    s.add_argument(
        "--bootstrap", type=int, default=0, metavar="N",
        help="N bootstrap resamples: print intervals as the leaderboard stores them",
    )
    s.add_argument("--seed", type=int, default=0, help="bootstrap seed (the platform uses 0)")
    s.add_argument("--blocks", help="CSV id,block of spatial blocks for the bootstrap")
    s.add_argument("--primary", help="primary metric key (default: the kind's)")
    s.add_argument("--draws", action="store_true", help="include the primary metric's draws")
    return ap


def _read_ids(path: str) -> list[str]:
    """The ``--ids`` file: one id per line, read as every id list is
    (:func:`evaluator.ids.read_id_list`: a repeated id is an error)."""
    from pathlib import Path

    from evaluator.ids import read_id_list
    from evaluator.io import FileSource

    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"--ids {path}: cannot read: not a file")
    try:
        return read_id_list(FileSource(p, "ids"), p.name)
    except OSError as exc:
        raise ValidationError(f"--ids {path}: cannot read: {exc}") from None
    except ValidationError as exc:
        raise ValidationError(f"--ids {exc}") from None


def _read_blocks(path: str) -> dict[str, str]:
    import csv

    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--blocks {path}: cannot read: {exc}") from None
    out = {}
    for line, row in enumerate(rows, start=1):
        if line == 1 and row[:2] == ["id", "block"]:
            continue
        if len(row) != 2:
            raise ValidationError(
                f"--blocks {path} line {line}: expected 2 columns id,block, found {len(row)}"
            )
        out[row[0]] = row[1]
    return out


def _score_subset(args, ev) -> dict:
    from evaluator import registry
    from evaluator.scoring import score_splits

    if args.bootstrap < 0:
        raise ValidationError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    ids = _read_ids(args.ids) if args.ids else list(ev.sample_ids)
    unknown = sorted(set(ids) - set(ev.sample_ids))
    if unknown:
        raise ValidationError(
            f"--ids {args.ids}: {len(unknown)} id(s) not in the truth, e.g. {unknown[0]!r}"
        )
    primary = args.primary or registry.get_kind(args.kind).primary
    record = score_splits(
        ev, {"ids": ids}, primary=primary, n_resamples=args.bootstrap, seed=args.seed,
        blocks=_read_blocks(args.blocks) if args.blocks else None,
    )["ids"]
    if not args.bootstrap:
        if args.samples:
            return {**record["metrics"], "samples": record["samples"]}
        return record["metrics"]
    out = {k: record[k] for k in ("metrics", "primary_value", "ci")}
    out.update(n_resamples=args.bootstrap, seed=args.seed)
    if args.draws:
        out.update(primary_draws=record["primary_draws"], draws_key=record["draws_key"])
    if args.samples:
        out["samples"] = record["samples"]
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from evaluator import api, registry

    try:
        if args.cmd == "kinds":
            for name in registry.kind_names():
                print(name)
            return 0
        if args.cmd == "describe":
            print(json.dumps(registry.get_kind(args.kind).describe(), indent=2))
            return 0
        try:
            options = json.loads(args.options)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"--options is not valid JSON: {exc}") from None
        if not isinstance(options, dict):
            raise ValidationError("--options must be a JSON object")
        ev = api.evaluate(args.kind, args.predictions, args.truth, options)
        if args.ids or args.bootstrap or args.blocks:
            result = _score_subset(args, ev)
        else:
            result = ev.compute(None)
            if args.samples:
                result["samples"] = ev.samples()
        print(json.dumps(result, default=_json_default, allow_nan=False))
        return 0
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
