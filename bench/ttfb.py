"""Time to first byte of every main page and API list, on the stack `make demo` runs.

    python bench/ttfb.py [--var var] [--reads 3] [--max-seconds 600] [--json OUT]

Loopback only, bounded, stops what it started:

1. Uses a var folder where `make demo` (or `manage.py load_catalog`) has loaded the
   catalog (default: the repository's ``var/``): its SQLite database, storage and
   the embedded broker, as the demo serves them. Adds one participant
   (``ttfb-bench``) with a session, an API token, a team and one scored
   submission on the first benchmark with a baseline (through the services, as
   an upload would), so signed-in pages have something to show; removed at the end
   unless ``--keep-user``.
2. Starts ``manage.py runserver --noreload`` (threaded, dev settings: what `make
   demo` serves) on a free loopback port.
3. Enumerates the URLconf (``earthbench.urls``, recursively; the admin is left
   out): every route whose parameters can be filled — ``slug`` with **every**
   listed benchmark, ``pk`` with the participant's submission — is requested
   with GET, anonymously and signed in (session cookie for pages, token for
   ``/api/``). A route is timed when it answers 200 with HTML or JSON; the others
   (redirects to log in, 405 for POST-only actions, file downloads, routes with
   parameters nothing fills) are listed under ``skipped`` with the reason.
4. ``--reads`` rounds; in each, every URL once (interleaved, so a slow moment
   hits all routes alike). TTFB = request sent → first response byte
   (``http.client``, a fresh connection per request as a browser's first visit).

Prints JSON: per route p50 / max over its URLs and rounds, the slowest URL, and
the routes over ``--target-ms`` (100). Exit status 1 when any is over.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USERNAME = "ttfb-bench"
PASSWORD = "ttfb-bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Removed from the environment: the embedded default, as `make demo`.
NOT_EMBEDDED = ("DATABASE_URL", "CELERY_BROKER_URL", "EARTHBENCH_STORAGE_DIR", "CACHE_URL")


def stack_env(var: Path) -> dict[str, str]:
    env = dict(os.environ)
    for k in NOT_EMBEDDED:
        env.pop(k, None)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var),
        # The bench's token makes thousands of reads a minute: not throttled.
        EARTHBENCH_RATE_TOKEN="1000000/min",
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "platform"), str(REPO / "client")]),
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    # This process creates the bench's user in the served demo's database: a
    # DATABASE_URL left in its own environment (make bench sets one for the
    # leaderboard-page section) would put the user elsewhere and the log-in fail.
    for k in NOT_EMBEDDED:
        os.environ.pop(k, None)
    os.environ.update(env)
    for p in (str(REPO), str(REPO / "platform")):
        if p not in sys.path:
            sys.path.insert(0, p)
    import django

    django.setup()


def make_participant() -> dict:
    """The bench's user, its token, and a scored submission (own team) on the
    first benchmark that has a baseline file to submit."""
    import io

    from django.contrib.auth import get_user_model

    from earthbench.accounts.services import token_create, user_create
    from earthbench.benchmarks import layout
    from earthbench.benchmarks.models import Benchmark
    from earthbench.submissions import attempt, intake

    User = get_user_model()
    user = User.objects.filter(username=USERNAME).first() or user_create(
        username=USERNAME, password=PASSWORD
    )
    _, token = token_create(user=user, name="ttfb")
    sub = None
    for bench in Benchmark.objects.filter(is_published=True).order_by("slug"):
        dataset = layout.installed(bench)
        path = dataset.baseline_path if dataset else None
        if path is None:
            continue
        sub, _ = intake.submission_create(
            user=user, benchmark=bench, file=io.BytesIO(path.read_bytes()),
            filename=path.name, enqueue=False,
        )
        sub = attempt.score_file_submission(submission_id=sub.pk)
        break
    return {"user": user, "token": token, "submission": sub}


def remove_participant() -> None:
    from django.contrib.auth import get_user_model

    from earthbench.accounts.models import Team
    from earthbench.leaderboards.services import leaderboard_refresh_benchmark
    from earthbench.submissions.models import Submission

    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        return
    subs = list(Submission.objects.filter(created_by=user))
    benches = {s.benchmark for s in subs}
    teams = set(Team.objects.filter(memberships__user=user))
    for s in subs:
        s.delete()
    for t in teams:
        if not Submission.objects.filter(team=t).exists():
            t.delete()
    for b in benches:
        leaderboard_refresh_benchmark(benchmark=b)
    user.delete()


def routes() -> list[tuple[str, str, list[str]]]:
    """(name, regex-ish pattern, parameter names) of every route but the admin's."""
    from django.urls import URLPattern, URLResolver, get_resolver

    out = []

    def walk(patterns, prefix: str):
        for p in patterns:
            text = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if text.startswith("admin/"):
                    continue
                walk(p.url_patterns, text)
            elif isinstance(p, URLPattern):
                if text.startswith("admin/"):
                    continue
                params = re.findall(r"<(?:\w+:)?(\w+)>", text)
                out.append((p.name or text, text, params))

    walk(get_resolver().url_patterns, "")
    return out


def fill(pattern: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], pattern)


def ttfb(port: int, path: str, headers: dict[str, str]) -> tuple[float, int, str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t = time.perf_counter()
        conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        resp = conn.getresponse()  # returns once the status line is read
        first = time.perf_counter() - t
        body = resp.read()
        return first, resp.status, resp.getheader("Content-Type", ""), len(body)
    finally:
        conn.close()


def login_cookie(port: int) -> str:
    """Sign in through the login form, as a browser does; the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/accounts/login/", headers={"Host": "127.0.0.1"})
    resp = conn.getresponse()
    html = resp.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    from urllib.parse import urlencode

    body = urlencode({"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token})
    conn.request("POST", "/accounts/login/", body=body, headers={
        "Host": "127.0.0.1", "Cookie": f"csrftoken={csrf}",
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{port}/",
    })
    resp = conn.getresponse()
    resp.read()
    cookies = resp.getheader("Set-Cookie", "")
    m = re.search(r"sessionid=([^;]+)", cookies)
    if resp.status != 302 or not m:
        raise RuntimeError(f"log-in failed ({resp.status})")
    conn.close()
    return f"sessionid={m.group(1)}; csrftoken={csrf}"


def wait_up(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("runserver exited")
        try:
            ttfb(port, "/healthz", {})
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("runserver did not answer")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--var", type=Path, default=REPO / "var")
    ap.add_argument("--reads", type=int, default=3, help="rounds over every URL (1..50)")
    ap.add_argument("--target-ms", type=float, default=100)
    ap.add_argument("--max-seconds", type=float, default=600, help="hard stop, ≤ 1800")
    ap.add_argument("--only", default="", help="regex: time only routes whose name matches")
    ap.add_argument("--keep-user", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", action="store_true",
                    help="print a Markdown summary (routes with p50 >= 15 ms) instead of JSON")
    args = ap.parse_args(argv)
    if not 1 <= args.reads <= 50:
        ap.error("--reads must be in 1..50")
    var = args.var.resolve()
    if not (var / "db.sqlite3").exists():
        ap.error(f"no demo database in {var}: run `make demo` (or load_catalog) first")
    deadline = time.monotonic() + min(args.max_seconds, 1800)
    env = stack_env(var)
    setup_django(env)
    from earthbench.benchmarks.models import Benchmark

    who = make_participant()
    slugs = list(Benchmark.objects.filter(is_published=True).order_by("slug").values_list("slug", flat=True))
    values = {"pk": str(who["submission"].pk) if who["submission"] else None}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port, server)
        cookie = login_cookie(port)
        auths = {
            "anonymous": {},
            "signed-in": {"Cookie": cookie},
        }
        api_auth = {"Authorization": f"Token {who['token']}"}
        # Discover: which (route, URL, who) answer 200 HTML/JSON.
        timed: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        skipped: dict[str, str] = {}
        for name, pattern, params in routes():
            if args.only and not re.search(args.only, name):
                continue
            unknown = [p for p in params if p not in ("slug", "pk")]
            if unknown or ("pk" in params and values["pk"] is None):
                skipped[name] = f"parameters nothing fills: {', '.join(unknown or params)}"
                continue
            urls = [fill(pattern, {**values, "slug": s}) for s in slugs] if "slug" in params else [
                fill(pattern, values)]
            for who_name, headers in auths.items():
                if who_name == "signed-in" and pattern.startswith("api/"):
                    headers = api_auth
                answers: dict[str, int] = {}
                for url in urls:  # each URL once: a route may answer differently per benchmark
                    _, status, ctype, _ = ttfb(port, url, headers)
                    kind = ctype.split(";")[0]
                    if status == 200 and kind in ("text/html", "application/json",
                                                  "application/vnd.oai.openapi+json"):
                        timed.setdefault((name, who_name), []).append((url, headers))
                    else:
                        answers[f"{status} {kind or '-'}"] = answers.get(f"{status} {kind or '-'}", 0) + 1
                if answers:
                    skipped[f"{name} ({who_name})"] = ", ".join(
                        f"{n} URL(s) answered {a}" for a, n in answers.items())
        samples: dict[tuple[str, str], list[tuple[float, str]]] = {k: [] for k in timed}
        for _ in range(args.reads):
            for key, urls in timed.items():
                for url, headers in urls:
                    if time.monotonic() > deadline:
                        raise TimeoutError("--max-seconds reached")
                    first, status, _, _ = ttfb(port, url, headers)
                    if status != 200:
                        raise RuntimeError(f"{url} answered {status} on a later read")
                    samples[key].append((first * 1000, url))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep_user:
            remove_participant()

    rows = []
    for (name, who_name), vals in samples.items():
        ms = [v for v, _ in vals]
        per_url: dict[str, list[float]] = {}
        for v, u in vals:
            per_url.setdefault(u, []).append(v)
        worst_url = max(per_url, key=lambda u: statistics.median(per_url[u]))
        rows.append({
            "route": name, "as": who_name, "urls": len(per_url),
            "p50_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1),
            "slowest_url": worst_url, "slowest_url_p50_ms": round(statistics.median(per_url[worst_url]), 1),
        })
    rows.sort(key=lambda r: -r["p50_ms"])
    over = [f"{r['route']} ({r['as']}): {r['p50_ms']} ms" for r in rows if r["p50_ms"] > args.target_ms]
    report = {
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "server": "manage.py runserver --noreload (dev settings, SQLite, as make demo)",
        "benchmarks": len(slugs), "reads": args.reads, "target_ms": args.target_ms,
        "over_target": over, "routes": rows, "skipped": skipped,
    }
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(markdown(report) if args.markdown else text)
    return 1 if over else 0


def markdown(report: dict, floor_ms: float = 15.0) -> str:
    """The report as docs/performance.md shows it: a row per (route, visitor) with
    p50 >= ``floor_ms``, one line for the rest and one for what was skipped."""
    rows = report["routes"]
    big = [r for r in rows if r["p50_ms"] >= floor_ms]
    rest = [r for r in rows if r["p50_ms"] < floor_ms]
    load = " ".join(f"{x:.1f}" for x in report["load_average"])
    verdict = (
        f"**every route's p50 is under {report['target_ms']:g} ms**" if not report["over_target"]
        else f"**over {report['target_ms']:g} ms:** " + "; ".join(report["over_target"])
    )
    out = [
        f"{report['benchmarks']} benchmarks, {report['reads']} round(s), load average {load} at "
        f"the end; {verdict}. Routes with p50 ≥ {floor_ms:g} ms (ms; p50 over all URLs and "
        "rounds, max, and the slowest single URL's p50):",
        "",
        "| route | as | URLs | p50 | max | slowest URL (its p50) |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| `{r['route']}` | {r['as']} | {r['urls']} | {r['p50_ms']} | {r['max_ms']} | "
        f"`{r['slowest_url']}` ({r['slowest_url_p50_ms']}) |"
        for r in big
    ]
    if rest:
        out += ["", f"The other {len(rest)} (route, visitor) pairs: p50 "
                f"{min(r['p50_ms'] for r in rest)}–{max(r['p50_ms'] for r in rest)} ms."]
    why: dict[str, int] = {}
    for reason in report["skipped"].values():
        for part in reason.split(", ") if "answered" in reason else ["parameters nothing fills"]:
            key = part.split("answered ")[-1]
            why[key] = why.get(key, 0) + 1
    out += ["", f"Skipped ({len(report['skipped'])} route/visitor pairs, not 200 HTML/JSON; "
               "the JSON report names each): "
               + ", ".join(f"{k} ({n})" for k, n in sorted(why.items())) + "."]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
