"""Scoring speed of EarthBench's heavy kinds against their reference implementations.

    python bench/run.py [--quick] [--only KIND] [--json OUT] [--no-plot]

For every case and input size: seeded inputs are generated, EarthBench's scorer
and each reference run on the same data in forked children (bench/measure.py:
wall time and peak resident-memory growth), ``--repeats`` times each, interleaved,
the median reported; every run's metrics are ASSERTED equal to 1e-6, and a table
is printed. ``--cold`` times the imports too (whole-process figures). ``ratio`` = reference seconds / EarthBench seconds
(> 1: EarthBench is faster). Results go to bench/results/ (scoring.json,
scoring.md, scoring.png); exit status 1 when any equality check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/run.py` puts bench/ first, not the repo
    sys.path.insert(0, str(REPO))

from bench.common import Case, assert_equal  # noqa: E402
from bench.measure import measure  # noqa: E402

RESULTS = REPO / "bench" / "results"


def all_cases() -> list[Case]:
    from bench import cases_boxes, cases_masks, cases_misc, cases_sr

    return cases_masks.CASES + cases_boxes.CASES + cases_misc.CASES + cases_sr.CASES


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import os

    return f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, no GPU used"


def run_size(
    case: Case, size: int, work: Path, repeats: int = 3, cold: bool = False
) -> list[dict[str, Any]]:
    """Every implementation ``repeats`` times, interleaved (EB, ref 1, ref 2, ...,
    EB, ref 1, ...), each run in a fresh fork; the median is reported and every
    run's metrics are asserted equal to EarthBench's.

    ``cold``: imports are inside the timed region (whole-process figures, torch's
    import included where an implementation loads it): EarthBench runs without
    its warm-up (``api.score`` imports what the kind needs), references run their
    setup (imports and conversion of the inputs to their format) inside the timer.
    """
    # Every run starts the METEOR jar as the reference does: no answer cache
    # (evaluator/text/meteor.py), whatever the environment says.
    os.environ.pop("EARTHBENCH_METEOR_CACHE_DIR", None)
    t0 = time.perf_counter()
    prep = case.prepare(size, work)
    gen_s = time.perf_counter() - t0
    impls = [("EarthBench", prep.eb, prep.eb_setup, None)] + [
        (ref.name, ref.run, ref.setup, ref) for ref in prep.refs
    ]
    runs: dict[str, list] = {name: [] for name, *_ in impls}
    checked: dict[str, int] = {}
    for _ in range(max(1, repeats)):
        for name, run, setup, ref in impls:
            if cold and ref is None:  # EarthBench imports lazily what the kind needs
                m = measure(run)
            elif cold:
                m = measure(lambda _s, run=run, setup=setup: run(setup()))
            else:
                m = measure(run, setup)
            runs[name].append(m)
            if ref is not None and ref.compare:
                checked[name] = assert_equal(
                    runs["EarthBench"][-1].result, m.result, f"{case.name} n={size} {name}"
                )
    eb = _median(runs["EarthBench"])
    eb_cpu = _median_cpu(runs["EarthBench"])
    rows = [
        _row(case, size, "EarthBench", eb, prep.eb_timed, prep.size_note, None, gen_s)
    ]
    rows[0]["cpu_s"] = round(eb_cpu, 4)
    for ref in prep.refs:
        m = _median(runs[ref.name])
        rows.append(
            _row(case, size, ref.name, m, ref.timed, "", eb.seconds, None, checked.get(ref.name))
        )
        cpu = _median_cpu(runs[ref.name])
        rows[-1]["cpu_s"] = round(cpu, 4)
        rows[-1]["cpu_ratio"] = round(cpu / eb_cpu, 3) if eb_cpu > 0 else None
        if not ref.compare:
            rows[-1]["floor"] = True
    for row, (name, *_) in zip(rows, impls, strict=True):
        row["runs_s"] = [round(m.seconds, 4) for m in runs[name]]
        row["cold"] = cold
    return rows


def _median_cpu(ms: list) -> float:
    """Median CPU seconds of the runs: steadier than wall time on a shared,
    loaded machine (a process waiting for a core accrues none)."""
    order = sorted(m.cpu_seconds for m in ms)
    return order[(len(order) - 1) // 2]


def _median(ms: list) -> Any:
    """The run with the median time (its peak memory and result go with it)."""
    order = sorted(ms, key=lambda m: m.seconds)
    return order[(len(order) - 1) // 2]


def _row(case, size, impl, m, timed, note, eb_s, gen_s, checked=None) -> dict[str, Any]:
    row = {
        "case": case.name,
        "kind": case.kind,
        "size": size,
        "unit": case.unit,
        "impl": impl,
        "seconds": round(m.seconds, 4),
        "peak_mb": round(m.peak_mb, 1),
        "timed": timed,
    }
    if note:
        row["inputs"] = note
    if gen_s is not None:
        row["generate_s"] = round(gen_s, 2)
    if eb_s is not None:
        row["ratio"] = round(m.seconds / eb_s, 3) if eb_s > 0 else None
    if checked is not None:
        row["equal_keys"] = checked
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = "| case | n | implementation | seconds | peak MB | ratio ref/EB | equal |"
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        ratio = "" if "ratio" not in r else f"{r['ratio']:.2f}"
        if r.get("floor"):  # a floor, not a competitor: EB / floor
            ratio = f"EB/floor {1 / r['ratio']:.2f}" if r.get("ratio") else ""
        eq = f"{r['equal_keys']} keys" if "equal_keys" in r else ""
        lines.append(
            f"| {r['case']} | {r['size']} {r['unit']} | {r['impl']} | "
            f"{r['seconds']:.3f} | {r['peak_mb']:.1f} | {ratio} | {eq} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = sorted({r["case"] for r in rows})
    cols = 3
    fig, axes = plt.subplots(
        (len(cases) + cols - 1) // cols,
        cols,
        figsize=(5 * cols, 3.6 * ((len(cases) + 2) // 3)),
    )
    for ax, case in zip(axes.ravel(), cases, strict=False):
        sel = [r for r in rows if r["case"] == case]
        for impl in dict.fromkeys(r["impl"] for r in sel):
            pts = sorted((r["size"], r["seconds"]) for r in sel if r["impl"] == impl)
            ax.loglog(*zip(*pts, strict=True), marker="o", label=impl[:34])
        ax.set_title(case, fontsize=9)
        ax.set_xlabel(sel[0]["unit"], fontsize=8)
        ax.set_ylabel("seconds", fontsize=8)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(cases) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (< 1 min)")
    ap.add_argument("--only", action="append", help="kind or case name (repeatable)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument(
        "--repeats", type=int, default=3,
        help="runs per implementation, interleaved; the median is reported (default 3)",
    )
    ap.add_argument(
        "--cold", action="store_true",
        help="imports and input conversion inside the timed region (whole-process figures)",
    )
    ap.add_argument(
        "--sizes", type=lambda v: tuple(int(x) for x in v.split(",")),
        help="comma-separated sizes instead of the case's own (e.g. 40000,200000)",
    )
    args = ap.parse_args(argv)

    cases = all_cases()
    if args.only:
        # A case name selects that case only; a kind, every case of the kind.
        names = {c.name for c in cases}
        kinds = {v for v in args.only if v not in names}
        cases = [c for c in cases if c.name in args.only or c.kind in kinds]
        if not cases:
            ap.error(f"no case matches {args.only}")
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    started = time.perf_counter()
    for case in cases:
        sizes = args.sizes or (case.quick_sizes if args.quick else case.sizes)
        for size in sizes:
            work = Path(tempfile.mkdtemp(prefix=f"eb-bench-{case.name}-"))
            try:
                new = run_size(case, size, work, args.repeats, args.cold)
                rows += new
                print(table(new).split("\n", 2)[2], flush=True)
            except (AssertionError, RuntimeError, TimeoutError) as exc:
                failures.append(f"{case.name} n={size}: {exc}")
                print(
                    f"FAILED {case.name} n={size}: {exc}", file=sys.stderr, flush=True
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    report = {
        "machine": machine(),
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "repeats": args.repeats,
        "total_seconds": round(total, 1),
        "rows": rows,
        "failures": failures,
    }
    print()
    print(table(rows))
    print(
        f"\nmachine: {report['machine']}; {report['date']}; median of {args.repeats} "
        f"interleaved runs{' (cold)' if args.cold else ''}; total {total:.0f} s"
    )
    print(json.dumps({"ok": not failures, "failures": failures, "n_rows": len(rows)}))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    if not args.only:
        (RESULTS / f"scoring{suffix}.json").write_text(json.dumps(report, indent=1))
        (RESULTS / f"scoring{suffix}.md").write_text(
            f"Machine: {report['machine']}  \nCommand: `{report['command']}`  \n"
            f"Total: {total:.0f} s\n\n{table(rows)}\n"
        )
        if not args.no_plot:
            plot(rows, RESULTS / f"scoring{suffix}.png")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
