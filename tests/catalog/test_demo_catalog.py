"""`make demo`'s catalog step: every benchmark gets demo data and a scored baseline."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_load_catalog_scores_every_baseline(tmp_path):
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(tmp_path),
        EARTHBENCH_BOOTSTRAP_RESAMPLES="50",
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
    )
    run = lambda *a: subprocess.run([sys.executable, "manage.py", *a], cwd=REPO, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=1800)
    assert run("migrate", "-v0").returncode == 0
    r = run("load_catalog")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    code = (
        "import json\n"
        "from earthbench.benchmarks.models import Benchmark\n"
        "from earthbench.submissions.models import Submission\n"
        "out = {}\n"
        "for b in Benchmark.objects.all():\n"
        "    s = Submission.objects.filter(benchmark=b, is_baseline=True, is_hidden=False).first()\n"
        "    out[b.slug] = [b.task_kind, s.status if s else None,"
        " s.scores.filter(split='public').values_list('primary_value', flat=True).first() if s else None]\n"
        "print(json.dumps(out))\n"
    )
    r = run("shell", "-c", code)
    status = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(status) >= 77
    for slug, (kind, st, value) in status.items():
        if kind == "suite":
            continue  # suites aggregate members; they have no data of their own
        assert st == "scored", (slug, st)
        assert value is not None, (slug, "baseline has no primary value")
    # loading again is idempotent and fast: nothing regenerated
    r = run("load_catalog")
    assert r.returncode == 0 and "demo data generated" not in r.stdout
    _cli_reproduces_every_stored_public_score(run, tmp_path)


def _cli_reproduces_every_stored_public_score(run, tmp_path):
    """`python -m evaluator score --ids public.txt --bootstrap N --seed 0` on each
    baseline prints exactly the public Score the leaderboard stored."""
    from evaluator.cli import main

    code = (
        "import json\n"
        "from earthbench import storage\n"
        "from earthbench.benchmarks.models import Benchmark\n"
        "from earthbench.submissions.models import Score\n"
        "out = {}\n"
        "for b in Benchmark.objects.exclude(task_kind='suite'):\n"
        "    s = Score.objects.filter(submission__benchmark=b, submission__is_baseline=True,"
        " split='public', is_current=True).first()\n"
        "    meta = storage.read_json(storage.private_dir(b.slug) / 'meta.json')\n"
        "    out[b.slug] = dict(kind=b.task_kind, options=b.options, primary=b.primary_metric,"
        " private=str(storage.private_dir(b.slug)), truth=meta['truth'], baseline=meta['baseline'],"
        " metrics=s.metrics, primary_value=s.primary_value, ci=s.ci)\n"
        "print(json.dumps(out))\n"
    )
    r = run("shell", "-c", code)
    stored = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(stored) >= 70
    mismatches = []
    for slug, st in stored.items():
        private = Path(st["private"])
        ids = json.loads((private / "splits.json").read_text())["public"]
        ids_file = tmp_path / f"{slug}-public.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main([
                "score", "--kind", st["kind"], "--options", json.dumps(st["options"]),
                "--predictions", str(private / st["baseline"]), "--truth", str(private / st["truth"]),
                "--ids", str(ids_file), "--bootstrap", "50", "--seed", "0", "--primary", st["primary"],
            ])
        assert rc == 0, slug
        got = json.loads(buf.getvalue())
        want_ci = {k: v for k, v in st["ci"].items()}
        if (got["metrics"], got["primary_value"]) != (st["metrics"], st["primary_value"]):
            mismatches.append((slug, "metrics"))
        elif {k: got["ci"].get(k) for k in want_ci} != want_ci:
            mismatches.append((slug, "ci"))
    assert not mismatches, mismatches
