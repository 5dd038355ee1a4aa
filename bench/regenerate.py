"""Regenerate every generated figure of docs/performance.md in one run.

    python bench/regenerate.py            # or: make bench
    python bench/regenerate.py --quick    # tiny sizes, one repeat (a smoke run)
    python bench/regenerate.py --sections scaling,goals --doc /tmp/perf.md

Sections of the document between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->`` are replaced; the rest of the text is kept.

- ``machine``: date, ``uname``, cores, CPU model, Python.
- ``scaling``: the issue-23 kinds at 1x, 4x, 16x a base size (bench/run.py,
  every implementation ``--repeats`` times interleaved, the median; equal results
  asserted on every run), with the fitted exponent of seconds ~ n^b per
  implementation. EarthBench's b must be <= MAX_EXPONENT (linear + noise).
- ``goals``: the issue-23 table re-derived from those same rows (ratio of each
  reference to EarthBench, the decode/read floors), goal met or not.
- ``scoring``: every other case at its quick sizes, same harness.
- platform sections (``bench/regen_platform.py``): each runs its benchmark
  script and inserts what it prints; a script missing on this branch leaves a
  line saying so.

Exit status 1 when an equality check failed, EarthBench grew faster than
linearly, or a platform command failed; the document is written either way
(with the failure in it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import run as bench_run  # noqa: E402

DOC = REPO / "docs" / "performance.md"
MAX_EXPONENT = 1.1
GROWTH = (1, 4, 16)


@dataclass(frozen=True)
class Curve:
    case: str
    base: int
    quick_base: int


# The issue-23 table's kinds; base sizes put 16x at the sizes the goals name.
CURVES = (
    Curve("sr-cpsnr-probav", 10, 2),
    Curve("sr-cpsnr-files", 10, 2),
    Curve("registration", 1250, 50),
    Curve("obb-voc07", 2500, 100),
    Curve("change-detection-zip", 100, 4),
    Curve("segmentation-zip", 100, 4),
    Curve("retrieval", 125, 10),
)
# Extra sizes a goal names beyond the curve (skipped with --quick).
EXTRA = {"obb-voc07": (200_000,)}
# Everything else, at its quick sizes (or the sizes given here).
OTHER: dict[str, tuple[int, ...] | None] = {
    "segmentation-npz": None,
    "hbb-coco": None,
    "captioning": None,
    "captioning-meteor": (100,),  # a JVM start per run on both sides
    "sr-psnr-ssim": None,
    "sr-cpsnr-search": None,
}

BEGIN = "<!-- BEGIN GENERATED: {} -->"
END = "<!-- END GENERATED: {} -->"


def machine() -> str:
    u = platform.uname()
    cpu = bench_run.cpu_model()
    try:
        load = "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; `uname -srm`: "
        f"{u.system} {u.release} {u.machine}; {os.cpu_count()} cores ({cpu}); "
        f"Python {platform.python_version()}; {load} at the start"
    )


def run_case(case: str, sizes: tuple[int, ...], repeats: int) -> tuple[list[dict], list[str]]:
    """bench/run.py for one case and sizes; its rows and failures."""
    with tempfile.TemporaryDirectory(prefix="eb-regen-") as tmp:
        out = Path(tmp) / "rows.json"
        argv = [
            "--no-plot", "--only", case, "--repeats", str(repeats),
            "--sizes", ",".join(str(s) for s in sizes), "--json", str(out),
        ]
        bench_run.main(argv)
        report = json.loads(out.read_text())
    return report["rows"], report["failures"]


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) on log(n)."""
    import numpy as np

    pts = [(n, s) for n, s in points if s > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def scaling_section(rows: list[dict], curves, growth) -> tuple[str, list[str]]:
    problems: list[str] = []
    head = "| case | implementation | " + " | ".join(f"{g}x" for g in growth)
    lines = [head + " | exponent b (s ~ n^b) |", "|" + "---|" * (len(growth) + 3)]
    for c in curves:
        sel = [r for r in rows if r["case"] == c.case]
        sizes = sorted({r["size"] for r in sel})[: len(growth)]
        for impl in dict.fromkeys(r["impl"] for r in sel):
            pts = [(r["size"], r["seconds"]) for r in sel if r["impl"] == impl and r["size"] in sizes]
            pts.sort()
            b = exponent(pts)
            cells = [f"{s:.3f} s (n={n:,})" for n, s in pts]
            flag = ""
            if impl == "EarthBench" and b is not None and b > MAX_EXPONENT:
                flag = " **faster than linear**"
                problems.append(f"{c.case}: EarthBench exponent {b:.2f} > {MAX_EXPONENT}")
            lines.append(
                f"| {c.case} | {impl} | " + " | ".join(cells)
                + f" | {'' if b is None else f'{b:.2f}'}{flag} |"
            )
    verdict = (
        "EarthBench grows at most linearly in every case "
        f"(fitted b <= {MAX_EXPONENT})." if not problems else "NOT met: " + "; ".join(problems)
    )
    return "\n".join(lines) + "\n\n" + verdict, problems


def _ratios(rows, case, size, impl_prefix) -> tuple[float | None, float | None]:
    """(wall ratio, CPU ratio) of a reference to EarthBench at one size; with
    ``"A/B"`` as the prefix, of reference A to reference B (a bound: what EarthBench
    would reach if it cost exactly B)."""
    if "/" in impl_prefix:
        num, den = (_row(rows, case, size, p) for p in impl_prefix.split("/"))
        if num is None or den is None:
            return None, None
        cpu = (num["cpu_s"] / den["cpu_s"]) if num.get("cpu_s") and den.get("cpu_s") else None
        return num["seconds"] / den["seconds"], cpu
    r = _row(rows, case, size, impl_prefix)
    return (None, None) if r is None else (r.get("ratio"), r.get("cpu_ratio"))


def _row(rows, case, size, impl_prefix) -> dict | None:
    for r in rows:
        if r["case"] == case and r["size"] == size and r["impl"].startswith(impl_prefix):
            return r
    return None


def _fmt(vals, floor: bool = False) -> str:
    out = []
    for n, (wall, cpu) in vals:
        if wall is None:
            continue
        if floor:
            text = f"{1 / wall:.2f}x floor" + (f" (CPU {1 / cpu:.2f}x)" if cpu else "")
        else:
            text = f"{wall:.2f}x" + (f" (CPU {cpu:.2f}x)" if cpu else "")
        out.append(f"{text} n={n:,}")
    return "; ".join(out) or "not run"


GOALS = (
    # (row, case, reference prefix, goal text, test on the ratio, floor?, sizes or None=all)
    ("cPSNR whole call vs numpy loop (in-memory)", "sr-cpsnr-probav", "numpy loop", ">= 1x", lambda v: v >= 1, False, None),
    ("cPSNR whole call vs TIFF read + numpy loop", "sr-cpsnr-files", "tifffile read + numpy loop", ">= 1x", lambda v: v >= 1, False, None),
    ("cPSNR whole call / TIFF read alone", "sr-cpsnr-files", "tiff-read", "(the floor)", None, True, None),
    ("registration vs numpy loop", "registration", "numpy loop", ">= 1x at 5,000-20,000", lambda v: v >= 1, False, (5000, 20_000)),
    ("OBB VOC07 AP vs DOTA devkit", "obb-voc07", "DOTA devkit", ">= 5x at 40k and 200k", lambda v: v >= 5, False, (40_000, 200_000)),
    ("change detection / PNG decode", "change-detection-zip", "png-decode", "<= 1.5x decode at 400-1,600", lambda v: 1 / v <= 1.5, True, (400, 1600)),
    ("segmentation / PNG decode", "segmentation-zip", "png-decode", "<= 1.5x decode at 1,600", lambda v: 1 / v <= 1.5, True, (1600,)),
    ("segmentation vs torchmetrics", "segmentation-zip", "torchmetrics", ">= 1.5x at 1,600", lambda v: v >= 1.5, False, (1600,)),
    ("bound: torchmetrics / PNG decode alone (the most any scorer that decodes the PNGs can reach: torchmetrics gets decoded tensors)", "segmentation-zip", "torchmetrics/png-decode", "(the most the row above can reach)", None, False, (1600,)),
    ("retrieval vs rank counting", "retrieval", "numpy rank counting", ">= 1x at 500-2,000", lambda v: v >= 1, False, (500, 2000)),
)


def goals_section(rows: list[dict]) -> str:
    lines = [
        "| work | measured: wall ratio (CPU-time ratio), per size | goal | met (wall; CPU) |",
        "|---|---|---|---|",
    ]
    for label, case, prefix, goal, test, floor, sizes in GOALS:
        have = sorted({r["size"] for r in rows if r["case"] == case})
        want = [s for s in have if sizes is None or s in sizes]
        vals = [(n, _ratios(rows, case, n, prefix)) for n in want]
        got = [v for _, v in vals if v[0] is not None]
        if test is None:
            met = "—"
        elif not got or (sizes is not None and len(got) < len(sizes)):
            met = "not measured at the goal's sizes"
        else:
            wall = all(test(w) for w, _ in got)
            cpu = all(c is not None and test(c) for _, c in got)
            met = f"{'yes' if wall else '**no**'}; {'yes' if cpu else 'no'}"
        lines.append(f"| {label} | {_fmt(vals, floor)} | {goal} | {met} |")
    return "\n".join(lines)


def scoring_section(rows: list[dict]) -> str:
    return bench_run.table(rows)


def replace_section(text: str, name: str, body: str) -> str:
    begin, end = BEGIN.format(name), END.format(name)
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{name}: no '{begin}' ... '{end}' markers in the document")
    return pattern.sub(lambda _m: f"{begin}\n{body.strip()}\n{end}", text, count=1)


def main(argv: list[str] | None = None) -> int:
    from bench import regen_platform

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--sections", help="comma-separated subset (default: all in the document)")
    ap.add_argument("--cases", help="comma-separated subset of the scaling/scoring cases")
    ap.add_argument(
        "--base", action="append", default=[], metavar="CASE=N",
        help="base size of a scaling case (1x; then 4x, 16x)",
    )
    args = ap.parse_args(argv)

    text = args.doc.read_text()
    present = set(re.findall(r"<!-- BEGIN GENERATED: ([\w.-]+) -->", text))
    wanted = set(args.sections.split(",")) if args.sections else present
    missing = wanted - present
    if missing:
        raise SystemExit(f"no markers for {sorted(missing)} in {args.doc}")
    repeats = args.repeats or (1 if args.quick else 3)
    only = set(args.cases.split(",")) if args.cases else None
    started = time.perf_counter()
    header = machine()
    problems: list[str] = []

    bases = dict(b.split("=", 1) for b in args.base)
    curves = [
        Curve(c.case, int(bases[c.case]), int(bases[c.case])) if c.case in bases else c
        for c in CURVES
        if only is None or c.case in only
    ]
    rows: list[dict[str, Any]] = []
    if wanted & {"scaling", "goals"}:
        for c in curves:
            base = c.quick_base if args.quick else c.base
            sizes = tuple(base * g for g in GROWTH)
            if not args.quick:
                sizes += EXTRA.get(c.case, ())
            got, failed = run_case(c.case, sizes, repeats)
            rows += got
            problems += failed
    other: list[dict[str, Any]] = []
    if "scoring" in wanted:
        for case, fixed in OTHER.items():
            if only is not None and case not in only:
                continue
            sizes = fixed or next(x for x in bench_run.all_cases() if x.name == case).quick_sizes
            if args.quick:
                sizes = sizes[:1]
            got, failed = run_case(case, sizes, repeats)
            other += got
            problems += failed

    stamp = f"_Generated by `python bench/regenerate.py{' --quick' if args.quick else ''}` — {header}; median of {repeats} interleaved run(s) per implementation, results asserted equal on every run._"
    bodies: dict[str, str] = {"machine": stamp}
    if "scaling" in wanted:
        body, bad = scaling_section(rows, curves, GROWTH)
        problems += bad
        bodies["scaling"] = stamp + "\n\n" + body
    if "goals" in wanted:
        bodies["goals"] = stamp + "\n\n" + goals_section(rows)
    if "scoring" in wanted:
        bodies["scoring"] = stamp + "\n\n" + scoring_section(other)
    for name, section in regen_platform.SECTIONS.items():
        if name in wanted:
            body, ok = regen_platform.run_section(section, quick=args.quick)
            bodies[name] = f"_Generated {header}._\n\n{body}"
            if not ok:
                problems.append(f"{name}: command failed")
    for name in sorted(wanted):
        if name in bodies:
            text = replace_section(text, name, bodies[name])
    if problems and "machine" in present:
        short = "; ".join(p.strip().splitlines()[0] + (" ..." if "\n" in p.strip() else "") for p in problems)
        text = replace_section(text, "machine", f"{stamp}\n\n**Problems in this run:** {short}")
    args.doc.write_text(text)
    print(json.dumps({"ok": not problems, "problems": problems, "seconds": round(time.perf_counter() - started, 1)}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
