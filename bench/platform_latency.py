"""Submission → scored latency and scoring throughput of one warm Celery worker.

    python bench/platform_latency.py [--samples 10000] [--submissions 20]
        [--burst 10] [--resamples 200] [--max-seconds 900] [--keep]
        [--demo-worker] [--idle-seconds 10]

What it does, on loopback only, and stops by itself:

1. A scratch ``EARTHBENCH_VAR_DIR`` (temporary folder: SQLite database, the
   embedded SQLAlchemy broker, storage). ``DATABASE_URL`` / ``CELERY_BROKER_URL``
   from the environment are used instead when set (Postgres / Redis; give a
   scratch database — it is migrated — and a Redis db nobody else uses, because
   the worker consumes the ``scoring`` queue). Non-loopback hosts are refused.
2. ``manage.py migrate``, then a scratch classification benchmark made from the
   ``eurosat-classification-v1`` spec (quotas lifted) whose hidden truth has
   ``--samples`` ids, installed with ``install_dataset`` (truth.csv +
   splits.json, public/private halves as in the catalog).
3. One worker: ``python -m celery -A earthbench worker -Q scoring,gpu
   --pool=solo`` with ``EARTHBENCH_BOOTSTRAP_RESAMPLES=--resamples`` (with
   ``--demo-worker``: `make demo`'s command line, ``--beat`` included); a first
   submission warms it (imports, caches) and is not counted. Then the idle
   worker's CPU use (user + system, /proc) over ``--idle-seconds``.
4. Sequential: ``--submissions`` prediction CSVs (90 % correct, a fresh file
   each) submitted one at a time with ``submission_create`` (in-process, the
   same call the API makes), each polled until ``scored``: latency from the
   database (``created_at`` → ``finished_at``, split into queue wait and
   scoring) and wall clock from the submit call to seeing ``scored``.
5. Burst: ``--burst`` submissions queued at once; throughput = burst /
   (last ``finished_at`` − first ``created_at``) = submissions per second per
   worker.

Prints one JSON object. Percentiles are numpy's linear interpolation; with 20
submissions p99 is close to the maximum.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SLUG = "latency-classification-v1"
BASE_SPEC = "eurosat-classification-v1"


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname
    if host in (None, "", "localhost"):
        return True
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback
            for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def _env(var_dir: Path, resamples: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var_dir),
        EARTHBENCH_STORAGE_DIR=str(var_dir / "storage"),
        EARTHBENCH_BOOTSTRAP_RESAMPLES=str(resamples),
        CELERY_TASK_ALWAYS_EAGER="0",
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "platform")]),
    )
    env.pop("EARTHBENCH_CATALOG_DIR", None)
    return env


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    for p in (str(REPO), str(REPO / "platform")):
        if p not in sys.path:
            sys.path.insert(0, p)
    import django

    django.setup()


def _install_benchmark(n_samples: int, work: Path):
    """Scratch benchmark with ``n_samples`` test ids; returns (benchmark, ids,
    labels, classes)."""
    from benchmarks.catalog import CATALOG_DIR, load_spec
    from benchmarks.generators import DemoData
    from earthbench.benchmarks import services

    base = load_spec(CATALOG_DIR / BASE_SPEC / "benchmark.yaml", CATALOG_DIR)
    data = json.loads(json.dumps(base.data))
    data["slug"] = SLUG
    data["title"] = f"Latency benchmark ({n_samples} samples)"
    data["submission"].update(daily_quota=1_000_000, max_in_flight=1_000_000)
    data.pop("demo", None)
    spec = replace(base, slug=SLUG, data=data, sha256=f"latency-{n_samples}")
    bench = services.benchmark_sync(spec=spec)

    classes = list(data["options"]["classes"])
    rng = np.random.default_rng(0)
    ids = [f"s{i:06d}" for i in range(n_samples)]
    labels = rng.integers(0, len(classes), n_samples)
    public = work / "public"
    public.mkdir(parents=True)
    (public / "README.txt").write_text("latency benchmark: no inputs\n")
    truth = work / "truth.csv"
    truth.write_text(
        "id,label\n"
        + "".join(f"{i},{classes[k]}\n" for i, k in zip(ids, labels, strict=True))
    )
    demo = DemoData(public_dir=public, truth_path=truth, sample_ids=ids)
    services.install_dataset(benchmark=bench, data=demo, source="latency-bench")
    return bench, ids, labels, classes


def _predictions(ids, labels, classes, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(ids)) < 0.1
    pred = np.where(wrong, rng.integers(0, len(classes), len(ids)), labels)
    body = "".join(f"{i},{classes[k]}\n" for i, k in zip(ids, pred, strict=True))
    return ("id,label\n" + body).encode()


def _start_worker(env: dict[str, str], log_path: Path, demo: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "celery", "-A", "earthbench", "worker", "-Q", "scoring,gpu",
           "--pool=solo"]
    if demo:  # the command line `make demo` runs
        cmd += ["--beat", "--schedule", str(log_path.parent / "celerybeat-schedule")]
    else:
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    cmd += ["-l", "warning"]
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_cpu(worker: subprocess.Popen, seconds: float) -> dict:
    """Share of one core the idle worker uses over ``seconds`` (nothing queued)."""
    if seconds <= 0 or not Path(f"/proc/{worker.pid}/stat").exists():
        return {}
    c0, t0 = _cpu_seconds(worker.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = _cpu_seconds(worker.pid), time.monotonic()
    return {"seconds": round(t1 - t0, 1), "cpu_s": round(c1 - c0, 3),
            "percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2)}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.end:
            raise TimeoutError(f"--max-seconds reached while {what}")


def _submit(bench, user, body: bytes, n: int):
    from earthbench.submissions.intake import submission_create

    sub, _ = submission_create(
        user=user, benchmark=bench, file=io.BytesIO(body), filename=f"pred{n}.csv"
    )
    return sub.pk


def _wait(pks: list[int], deadline: Deadline, worker: subprocess.Popen) -> dict:
    """Poll until every submission is finished; ``{pk: (status, seen_monotonic)}``."""
    from earthbench.submissions.models import Submission

    done: dict[int, tuple[str, float]] = {}
    while len(done) < len(pks):
        rows = Submission.objects.filter(pk__in=[p for p in pks if p not in done])
        for pk, status in rows.values_list("pk", "status"):
            if status in ("scored", "failed", "cancelled"):
                done[pk] = (status, time.monotonic())
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited (code {worker.returncode})")
        deadline.check(f"waiting for {len(pks) - len(done)} submission(s)")
        time.sleep(0.01)
    return done


def _timings(pks: list[int]) -> list[dict]:
    from earthbench.submissions.models import Submission

    out = []
    for s in Submission.objects.filter(pk__in=pks).order_by("pk"):
        out.append(
            {
                "pk": s.pk,
                "status": s.status,
                "error": s.error,
                "created": s.created_at.timestamp(),
                "queue_wait_s": (s.started_at - s.created_at).total_seconds(),
                "scoring_s": (s.finished_at - s.started_at).total_seconds(),
                "created_to_finished_s": (s.finished_at - s.created_at).total_seconds(),
                "finished": s.finished_at.timestamp(),
            }
        )
    return out


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, float) * 1000
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
        "mean_ms": round(float(a.mean()), 1),
    }


def _run(args, env: dict[str, str], var_dir: Path) -> dict:
    deadline = Deadline(args.max_seconds)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=args.max_seconds,
    )
    _setup_django(env)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    work = var_dir / "work"
    bench, ids, labels, classes = _install_benchmark(args.samples, work)
    user, _ = get_user_model().objects.get_or_create(username="latency")

    log_path = var_dir / "worker.log"
    worker = _start_worker(env, log_path, args.demo_worker)
    try:
        t0 = time.monotonic()
        warm = _submit(bench, user, _predictions(ids, labels, classes, 0), 0)
        _wait([warm], deadline, worker)
        warm_s = time.monotonic() - t0
        first = _timings([warm])[0]
        if first["status"] != "scored":
            raise RuntimeError(
                f"warm-up submission {first['status']}: {first['error']}"
            )

        idle = _idle_cpu(worker, args.idle_seconds)
        seq, walls = [], []
        for n in range(1, args.submissions + 1):
            body = _predictions(ids, labels, classes, n)
            t = time.monotonic()
            pk = _submit(bench, user, body, n)
            _, seen = _wait([pk], deadline, worker)[pk]
            walls.append(seen - t)
            seq.append(pk)
        seq_rows = _timings(seq)

        bodies = [
            _predictions(ids, labels, classes, 1000 + n) for n in range(args.burst)
        ]
        t = time.monotonic()
        burst = [_submit(bench, user, b, 1000 + n) for n, b in enumerate(bodies)]
        submit_s = time.monotonic() - t
        _wait(burst, deadline, worker)
        burst_wall = time.monotonic() - t
        burst_rows = _timings(burst)
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        _stop(worker)

    failed = [r for r in seq_rows + burst_rows if r["status"] != "scored"]
    span = max(r["finished"] for r in burst_rows) - min(
        r["created"] for r in burst_rows
    )
    db = connection.settings_dict
    return {
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "database": db["ENGINE"].rsplit(".", 1)[-1],
        "broker": urlparse(settings.CELERY_BROKER_URL).scheme,
        "samples": args.samples,
        "bootstrap_resamples": settings.EARTHBENCH_BOOTSTRAP_RESAMPLES,
        "splits": "public + private (each scored with its own bootstrap)",
        "worker": "make demo's (--beat)" if args.demo_worker else "without gossip/mingle/heartbeat",
        "broker_transport_options": {
            k: v for k, v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items()
            if k in ("polling_interval", "wakeup_check_s")
        },
        "warmup_s": round(warm_s, 2),
        "idle_worker_cpu": idle,
        "failed": [(r["pk"], r["status"], r["error"][:200]) for r in failed],
        "sequential": {
            "n": len(seq_rows),
            "submit_to_scored_wall": _stats(walls),
            "created_to_finished": _stats(
                [r["created_to_finished_s"] for r in seq_rows]
            ),
            "queue_wait": _stats([r["queue_wait_s"] for r in seq_rows]),
            "scoring": _stats([r["scoring_s"] for r in seq_rows]),
        },
        "burst": {
            "n": len(burst_rows),
            "submit_all_s": round(submit_s, 3),
            "wall_s": round(burst_wall, 3),
            "span_created_to_last_finished_s": round(span, 3),
            "throughput_per_s": round(len(burst_rows) / span, 3),
            "created_to_finished": _stats(
                [r["created_to_finished_s"] for r in burst_rows]
            ),
            "scoring": _stats([r["scoring_s"] for r in burst_rows]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--submissions", type=int, default=20, help="sequential, 1..500")
    ap.add_argument("--burst", type=int, default=10, help="queued at once, 1..500")
    ap.add_argument(
        "--resamples",
        type=int,
        default=int(os.environ.get("EARTHBENCH_BOOTSTRAP_RESAMPLES", 200)),
        help="EARTHBENCH_BOOTSTRAP_RESAMPLES for the worker (default 200)",
    )
    ap.add_argument("--max-seconds", type=float, default=900, help="hard stop, ≤ 3600")
    ap.add_argument("--demo-worker", action="store_true",
                    help="start the worker with `make demo`'s command line (--beat)")
    ap.add_argument("--idle-seconds", type=float, default=10,
                    help="measure the idle worker's CPU for this long (0: skip)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args(argv)
    if not (1 <= args.submissions <= 500 and 1 <= args.burst <= 500):
        ap.error("--submissions and --burst must be in 1..500")
    if not 1 <= args.samples <= 1_000_000:
        ap.error("--samples must be in 1..1,000,000")
    args.max_seconds = min(args.max_seconds, 3600)
    for var in ("DATABASE_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(var, "")
        if url and not url.startswith(("sqlite", "sqla+sqlite")) and not _loopback(url):
            ap.error(f"{var} must point at a loopback host, found {url!r}")

    var_dir = Path(tempfile.mkdtemp(prefix="eb-latency-"))
    try:
        report = _run(args, _env(var_dir, args.resamples), var_dir)
    finally:
        if args.keep:
            print(f"scratch folder kept: {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
