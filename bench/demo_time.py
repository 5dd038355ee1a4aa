"""`make demo`'s set-up timed step by step, up to a served site listing every benchmark.

    python bench/demo_time.py [--background] [--keep-var DIR] [--max-seconds 1500]

Runs the same steps as the Makefile's ``demo`` target (the list below mirrors it;
``tests/bench/test_demo_time.py`` fails if the two drift apart), with the embedded
default (SQLite, the SQLAlchemy broker, storage) in a scratch ``EARTHBENCH_VAR_DIR``
instead of ``var/``, so a developer's demo is never touched:

1. ``migrate``, ``collectstatic``, ``load_catalog --no-baselines --only
   eurosat-classification-v1``, ``demo_bundle``, the sample submission copied to
   ``demo-predictions.csv``, ``demo_user``: each timed.
2. The worker (``celery … worker -Q scoring,gpu --pool=solo --beat``),
   ``demo_background`` and ``runserver --noreload`` on a free loopback port,
   started as ``make demo`` starts them.
3. ``GET /`` polled every 0.25 s until it answers 200 **and** links every catalog
   benchmark (``/benchmarks/<slug>/`` for every ``benchmarks/*/benchmark.yaml``):
   "until served" is measured from the start of step 1 to that answer.
4. With ``--background``: waits for ``demo_background`` (the other demo datasets,
   the downloads, every baseline with its intervals) to exit and reports when.

Not timed: the virtual environment's install (``make demo``'s first prerequisite;
the step list starts once it exists). Stops every process it started; deletes the
scratch folder unless ``--keep-var DIR`` (then the folder is ``DIR``, emptied first,
and left as a served demo's ``var/`` for ``bench/ttfb.py --var DIR``).

Prints a Markdown table (``--json OUT`` also writes the figures). Exit status 1
when a step fails, the page never lists every benchmark, or ``--max-seconds`` runs out.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(PY).parent
EUROSAT = "eurosat-classification-v1"

#: The Makefile ``demo`` target's set-up commands, in order (``{var}``, ``{url}``
#: filled in). The test compares the manage.py commands with the Makefile.
STEPS: list[tuple[str, list[str]]] = [
    ("migrate", [PY, "manage.py", "migrate", "--noinput", "-v", "0"]),
    ("collectstatic", [PY, "manage.py", "collectstatic", "--noinput", "-v", "0"]),
    ("load_catalog", [PY, "manage.py", "load_catalog", "--no-baselines", "--only", EUROSAT]),
    ("demo_bundle", [PY, "manage.py", "demo_bundle"]),
    ("demo_user", [PY, "manage.py", "demo_user", "--url", "{url}"]),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def catalog_slugs() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "benchmarks").glob("*/benchmark.yaml"))


def demo_env(var: Path) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("DATABASE_URL", "CELERY_BROKER_URL", "EARTHBENCH_STORAGE_DIR", "CACHE_URL"):
        env.pop(k, None)  # the embedded default, as `make demo`
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var),
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "platform")]),
    )
    return env


def get_home(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""
    finally:
        conn.close()


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def measure(var: Path, *, background: bool, max_seconds: float) -> dict:
    env = demo_env(var)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slugs = catalog_slugs()
    deadline = time.monotonic() + max_seconds
    out: dict = {"steps": [], "benchmarks": len(slugs), "ok": False}
    t0 = time.monotonic()
    for name, cmd in STEPS:
        cmd = [c.replace("{url}", url) for c in cmd]
        s = time.monotonic()
        r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=max(1.0, deadline - s))
        out["steps"].append({"step": name, "s": round(time.monotonic() - s, 1)})
        if r.returncode != 0:
            out["error"] = f"{name} failed (exit {r.returncode}): {(r.stderr or r.stdout)[-800:]}"
            return out
        if name == "demo_bundle":  # the Makefile's `cp` of the sample submission
            sample = var / "storage/benchmarks" / EUROSAT / "public/sample_submission.csv"
            shutil.copy(sample, var / "demo-predictions.csv")
    out["setup_s"] = round(time.monotonic() - t0, 1)
    log = open(var / "demo-background.log", "w")  # noqa: SIM115 (closed below)
    spawn = dict(cwd=REPO, env=env, start_new_session=True)
    procs = [
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "earthbench", "worker", "-Q", "scoring,gpu",
             "--pool=solo", "--beat", "--schedule", str(var / "celerybeat-schedule"),
             "-l", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **spawn),
        subprocess.Popen([PY, "manage.py", "demo_background"], stdout=log,
                         stderr=subprocess.STDOUT, **spawn),
        subprocess.Popen([PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **spawn),
    ]
    setup = procs[1]
    try:
        missing = slugs
        while time.monotonic() < deadline:
            status, html = get_home(port)
            if status == 200:
                missing = [s for s in slugs if f"/benchmarks/{s}/" not in html]
                if not missing:
                    out["served_s"] = round(time.monotonic() - t0, 1)
                    break
            time.sleep(0.25)
        else:
            out["error"] = (f"/ did not list every benchmark within {max_seconds:.0f} s "
                            f"({len(missing)} missing, e.g. {missing[:3]})")
            return out
        if background:
            while setup.poll() is None and time.monotonic() < deadline:
                time.sleep(1)
            if setup.returncode is None:
                out["error"] = f"demo_background still running after {max_seconds:.0f} s"
                return out
            out["background_s"] = round(time.monotonic() - t0, 1)
            out["background_exit"] = setup.returncode
            if setup.returncode != 0:
                out["error"] = f"demo_background exited {setup.returncode}"
                return out
        out["ok"] = True
        return out
    finally:
        stop(procs)
        log.close()


def markdown(res: dict, load: str) -> str:
    rows = ["| step | seconds |", "|---|---|"]
    rows += [f"| `manage.py {s['step']}` | {s['s']} |" for s in res["steps"]]
    if "served_s" in res:
        rows.append(
            f"| **until served**: worker and `runserver` up, `/` links all "
            f"{res['benchmarks']} catalog benchmarks | **{res['served_s']}** |"
        )
    if "background_s" in res:
        rows.append(
            "| `demo_background` done (the other demo datasets, downloads, every "
            f"baseline with intervals) | {res['background_s']} |"
        )
    head = (f"`make demo`'s steps in a scratch var folder, the virtual environment "
            f"already installed; load average {load} at the start; seconds from the start "
            "of `migrate`.")
    tail = "" if res["ok"] else f"\n\n**Failed:** {res.get('error', 'unknown')}"
    return head + "\n\n" + "\n".join(rows) + tail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background", action="store_true",
                    help="also wait for demo_background (every dataset and baseline)")
    ap.add_argument("--keep-var", type=Path, help="use and keep this folder (emptied first)")
    ap.add_argument("--max-seconds", type=float, default=1500, help="hard stop, ≤ 3600")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not 0 < args.max_seconds <= 3600:
        ap.error("--max-seconds must be in (0, 3600]")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.keep_var:
        shutil.rmtree(args.keep_var, ignore_errors=True)
        args.keep_var.mkdir(parents=True)
        var = args.keep_var
    else:
        var = Path(tempfile.mkdtemp(prefix="eb-demo-time-"))
    try:
        res = measure(var, background=args.background, max_seconds=args.max_seconds)
    finally:
        if not args.keep_var:
            shutil.rmtree(var, ignore_errors=True)
    res["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    print(markdown(res, load))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
