"""Peak RSS and time of the scorer on issue 18's attack files, one fresh process
per (attack, code tree), so figures for an old checkout and this one compare.

    python bench/scorer_attacks.py [--old DIR]   # DIR: an older tree's root

Each attack runs ``evaluator.evaluate`` (after the per-kind size cap, when the
tree has ``evaluator/limits.py``, as the platform's worker does) in a child
process; the parent reports the child's peak RSS (``ru_maxrss``), wall time and
the first 110 characters of the outcome. Files are built in a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r"""
import sys, json
kind, pred, truth, options, n = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
import evaluator
try:
    try:
        from evaluator.limits import check_prediction_size, prediction_cap
        check_prediction_size(pred, prediction_cap(kind, n))
    except ImportError:
        pass
    evaluator.evaluate(kind, pred, truth, options)
    print("scored")
except evaluator.ValidationError as exc:
    print("refused: " + str(exc))
except BaseException as exc:
    print("CRASH " + type(exc).__name__ + ": " + str(exc)[:80])
"""


def build(tmp: Path) -> list[tuple[str, str, Path, Path, dict, int]]:
    import numpy as np
    from PIL import Image

    from tests.evaluator.bombs import big_tiff, npz_bomb

    masks = tmp / "truth_masks"
    masks.mkdir()
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(masks / "a.png")
    tiff_dir = tmp / "pred_tiff"
    tiff_dir.mkdir()
    big_tiff(tiff_dir / "a.tif", 40_132)
    npz = npz_bomb(tmp / "pred.npz", "a", 40_000)

    n = 27_000
    labels = tmp / "truth.csv"
    labels.write_text("id,label\n" + "".join(f"s{i:06d},Forest\n" for i in range(n)))
    csv = tmp / "predictions.csv"
    with open(csv, "w") as fh:  # valid rows, then 214 MB of blank (space) lines
        fh.write(labels.read_text())
        line = " " * 999 + "\n"
        fh.write(line * (214 * 1000))

    graphs = tmp / "truth.json"
    graphs.write_text(json.dumps({"1": {"boxes": [[0, 0, 1, 1]], "labels": ["a"], "triplets": []}}))
    nested = tmp / "pred.json"
    nested.write_text("[" * 200_000)
    seg = {"num_classes": 2}
    return [
        ("TIFF 40,132² deflated", "segmentation", tiff_dir / "a.tif", masks, seg, 1),
        (".npz member inflating to 1.6 GB", "segmentation", npz, masks, seg, 1),
        ("CSV of 214 MB", "classification", csv, labels, {}, n),
        ("JSON of 200,000 '['", "scene-graph", nested, graphs, {}, 1),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", type=Path, help="root of an older tree to compare")
    args = ap.parse_args()
    trees = ([("old", args.old)] if args.old else []) + [("new", REPO)]
    with tempfile.TemporaryDirectory() as tmp:
        cases = build(Path(tmp))
        print("| attack | tree | peak RSS | time | outcome |")
        print("|---|---|---|---|---|")
        for label, kind, pred, truth, options, n in cases:
            for name, root in trees:
                # RUSAGE_CHILDREN's ru_maxrss is the largest child so far: a
                # fresh interpreter starts each measurement, so it sees one.
                code = (
                    "import resource, subprocess, sys, time, json;"
                    "t=time.monotonic();"
                    "p=subprocess.run(sys.argv[1:], capture_output=True, text=True);"
                    "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
                    " time.monotonic()-t, (p.stdout+p.stderr).strip().splitlines()[-1:]]))"
                )
                cmd = [sys.executable, "-c", code, sys.executable, "-c", CHILD, kind,
                       str(pred), str(truth), json.dumps(options), str(n)]
                out = subprocess.run(
                    cmd, env=dict(os.environ, PYTHONPATH=str(root)), cwd=root,
                    capture_output=True, text=True,
                ).stdout
                rss_kb, secs, last = json.loads(out)
                outcome = (last[0] if last else "(none)")[:110].replace("|", "/")
                print(f"| {label} | {name} | {rss_kb / 1024:.0f} MB | {secs:.1f} s | {outcome} |")


if __name__ == "__main__":
    main()
