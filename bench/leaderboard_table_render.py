"""The leaderboard table's render time: the Django template it was (the frozen copy
``tests/web/leaderboard_table_oracle.html``) against ``web/leaderboard_table.py``.

    python bench/leaderboard_table_render.py --rows 200 --runs 15

Rows shaped as ``bench/leaderboard_scale.py``'s board (rank interval, P(1st), an
interval on the primary metric), for a two-metric and a six-metric benchmark, as a
visitor (sortable) and as a host (a hide form per row). Both renders run in turn,
interleaved, ``--runs`` times; prints the medians (ms) as JSON and checks that the
two give the same HTML.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.dev")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import RequestFactory

    from earthbench.benchmarks.models import Benchmark
    from earthbench.leaderboards.selectors import Row
    from earthbench.web import leaderboard_table
    from tests.web.test_leaderboard_table import render_oracle

    settings.ALLOWED_HOSTS = ["*"]
    request = RequestFactory().get("/benchmarks/scale-test-v1/leaderboard/?split=public")
    now = datetime(2026, 12, 5, tzinfo=UTC)
    report = {"rows": args.rows, "runs": args.runs}
    for n_metrics in (2, 6):
        keys = ["oa", "kappa", "f1", "precision", "recall", "iou"][:n_metrics]
        bench = Benchmark(pk=1, slug="scale-test-v1", primary_metric="oa", accepts_containers=False,
                          metrics=[{"key": k, "direction": "max"} for k in keys])
        rows = [
            Row(rank=i + 1, team=f"scale-scale-test-v1-{i}", submission_id=10_000 + i, method_name=f"method {i}",
                created_at=now - timedelta(minutes=37 * i), primary_value=0.99 - i / 1000,
                metrics={k: 0.99 - i / 1000 - j / 100 for j, k in enumerate(keys)},
                ci={"oa": [0.97 - i / 1000, 1.0 - i / 1000]}, is_baseline=False, entries=1 + i % 7,
                rank_low=1, rank_high=12, p_first=0.05)
            for i in range(args.rows)
        ]
        for who, extra in (("visitor", {}), ("host", {"host_actions": True, "csrf_token": "t" * 64})):
            kw = {"bench": bench, "rows": rows, "split": "public", "sort": None, "table_id": "leaderboard",
                  "sortable": True, "request": request, **extra}
            if render_oracle(kw) != leaderboard_table.render(**kw):
                raise SystemExit(f"different HTML ({n_metrics} metrics, {who})")
            old, new = [], []
            for _ in range(args.runs):
                for out, fn in ((old, render_oracle), (new, lambda kw: leaderboard_table.render(**kw))):
                    t = time.perf_counter()
                    fn(kw)
                    out.append((time.perf_counter() - t) * 1000)
            report[f"{n_metrics}_metrics_{who}"] = {
                "template_ms": round(statistics.median(old), 2),
                "python_ms": round(statistics.median(new), 2),
                "speed-up": round(statistics.median(old) / statistics.median(new), 1),
            }
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
