"""``python -m evaluator``: the exact scorer the leaderboard uses, locally.

    python -m evaluator kinds
    python -m evaluator describe KIND
    python -m evaluator score --kind KIND --predictions PATH --truth PATH
                              [--options JSON] [--samples]

``score`` prints one JSON object of metrics; exit 0 on success, 2 with a
one-line error on stderr for invalid input or options.
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
    return ap


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
        result = ev.compute(None)
        if args.samples:
            result["samples"] = ev.samples()
        print(json.dumps(result, default=_json_default, allow_nan=False))
        return 0
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
