"""`make demo`'s catalog step: every benchmark gets demo data and a scored baseline.

The whole catalog takes minutes of one core, so it is loaded in chunks of benchmarks
(`load_catalog --only`), one test each, that xdist spreads over its workers; a cheap
test holds the whole-catalog facts: every benchmark is listed, and the chunks cover
every benchmark that has data of its own. Demo data comes from the run's shared cache
(EARTHBENCH_DEMO_CACHE_DIR, tests/conftest.py), generated once for all tests."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.catalog import load_catalog
from tests.conftest import copy_migrated_db

REPO = Path(__file__).resolve().parents[2]

SPECS = load_catalog()
# Suites aggregate their members' leaderboards: no data, no baseline of their own.
SUITES = sorted(s.slug for s in SPECS if s.data["task_kind"] == "suite")
WITH_DATA = sorted(s.slug for s in SPECS if s.data["task_kind"] != "suite")
# Chunks of about equal time: a captioning benchmark (a JVM start for METEOR, when
# scored and again when reproduced) costs about as much as eight others.
N_CHUNKS = 6
WEIGHT = {"captioning": 8}


def _chunks(specs) -> list[list[str]]:
    chunks: list[tuple[int, list[str]]] = [(0, []) for _ in range(N_CHUNKS)]
    for w, slug in sorted(((WEIGHT.get(s.data["task_kind"], 1), s.slug) for s in specs
                           if s.data["task_kind"] != "suite"), key=lambda t: (-t[0], t[1])):
        i = min(range(N_CHUNKS), key=lambda j: (chunks[j][0], j))  # the lightest so far
        chunks[i] = (chunks[i][0] + w, [*chunks[i][1], slug])
    return [sorted(slugs) for _, slugs in chunks]


CHUNKS = _chunks(SPECS)


def _env(var: Path) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var),
        EARTHBENCH_BOOTSTRAP_RESAMPLES="50",
        CELERY_BROKER_URL=f"sqla+sqlite:///{var / 'broker.sqlite3'}",
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
    )
    return env


def _manage(var: Path):
    env = _env(var)
    return lambda *a: subprocess.run([sys.executable, "manage.py", *a], cwd=REPO, env=env,  # noqa: E731
                                     capture_output=True, text=True, timeout=1800)


@pytest.fixture
def run(migrated_sqlite, tmp_path):
    """``manage.py`` on a fresh var folder holding a copy of the migrated database."""
    copy_migrated_db(migrated_sqlite, tmp_path / "db.sqlite3")
    return _manage(tmp_path)


def test_load_catalog_lists_every_benchmark_and_the_chunks_cover_them(run):
    assert len(SPECS) >= 77 and len(WITH_DATA) >= 70 and SUITES
    assert sorted(s for chunk in CHUNKS for s in chunk) == WITH_DATA  # each exactly once
    r = run("load_catalog", "--only", *SUITES)  # the chunks load every other benchmark
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = run("shell", "-c", "import json\nfrom earthbench.benchmarks.models import Benchmark\n"
            "print(json.dumps(dict(Benchmark.objects.values_list('slug', 'task_kind'))))")
    kinds = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(kinds) == sorted(s.slug for s in SPECS)
    assert sorted(slug for slug, kind in kinds.items() if kind != "suite") == WITH_DATA


@pytest.mark.slow(40)
@pytest.mark.parametrize("slugs", CHUNKS, ids=[f"{i + 1}of{N_CHUNKS}" for i in range(N_CHUNKS)])
def test_load_catalog_scores_every_baseline(slugs, run, tmp_path):
    r = run("load_catalog", "--only", *slugs)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # loading again is idempotent and fast: nothing regenerated
    r = run("load_catalog", "--only", *slugs)
    assert r.returncode == 0 and "demo data generated" not in r.stdout
    # One `manage.py shell` (a process start is ~1 s of CPU) reads what both checks need.
    code = (
        "import json\n"
        "from earthbench import storage\n"
        "from earthbench.benchmarks.models import Benchmark\n"
        "from earthbench.submissions.models import Score, Submission\n"
        "status, stored = {}, {}\n"
        "for b in Benchmark.objects.all():\n"
        "    s = Submission.objects.filter(benchmark=b, is_baseline=True, is_hidden=False).first()\n"
        "    status[b.slug] = [b.task_kind, s.status if s else None,"
        " s.scores.filter(split='public').values_list('primary_value', flat=True).first() if s else None]\n"
        f"for b in Benchmark.objects.exclude(task_kind='suite').filter(slug__in={list(slugs)!r}):\n"
        "    s = Score.objects.filter(submission__benchmark=b, submission__is_baseline=True,"
        " split='public', is_current=True).first()\n"
        "    meta = storage.read_json(storage.private_dir(b.slug) / 'meta.json')\n"
        "    stored[b.slug] = dict(kind=b.task_kind, options=b.options, primary=b.primary_metric,"
        " private=str(storage.private_dir(b.slug)), truth=meta['truth'], baseline=meta['baseline'],"
        " metrics=s.metrics, primary_value=s.primary_value, ci=s.ci)\n"
        "print(json.dumps([status, stored]))\n"
    )
    r = run("shell", "-c", code)
    assert r.returncode == 0, r.stderr[-3000:]
    status, stored = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(status) >= 77  # every benchmark is listed, loaded or not
    for slug in slugs:
        kind, st, value = status[slug]
        assert kind != "suite", slug
        assert st == "scored", (slug, st)
        assert value is not None, (slug, "baseline has no primary value")
    _cli_reproduces_every_stored_public_score(stored, tmp_path, slugs)


def _cli_reproduces_every_stored_public_score(stored, tmp_path, slugs):
    """`python -m evaluator score --ids public.txt --bootstrap N --seed 0` on each
    baseline prints exactly the public Score the leaderboard stored."""
    from evaluator.cli import main

    assert sorted(stored) == sorted(slugs)
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
