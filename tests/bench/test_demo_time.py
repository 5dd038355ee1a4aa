"""``bench/demo_time.py`` times the Makefile's ``demo`` steps: its step list must be
the Makefile's, and the regenerate command must run it before ``bench/ttfb.py``
(which measures the served demo it leaves)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import demo_time, regen_platform  # noqa: E402


def _makefile_demo_commands() -> list[list[str]]:
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\ndemo: $(STAMP)\n", 1)[1].split("\n\n", 1)[0]
    out = []
    for line in recipe.splitlines():
        if line.startswith("\t@"):
            break  # the set-up ends where the worker and the server start
        m = re.match(r"\t\$\(BIN\)/python manage\.py (.+)$", line)
        if m:
            out.append(m.group(1).replace("http://$(HOST):$(PORT)", "{url}").split())
    return out


def test_steps_are_the_makefiles_demo_setup():
    want = _makefile_demo_commands()
    got = [cmd[2:] for _name, cmd in demo_time.STEPS]
    assert got == want
    recipe = (REPO / "Makefile").read_text().split("\ndemo: $(STAMP)\n", 1)[1]
    assert "manage.py demo_background" in recipe and "runserver --noreload" in recipe
    assert "worker -Q scoring,gpu --pool=solo --beat" in recipe


def test_ttfb_runs_on_the_var_that_demo_time_leaves(tmp_path, monkeypatch):
    names = list(regen_platform.SECTIONS)
    assert names.index("demo-time") < names.index("ttfb")
    demo, ttfb = regen_platform.SECTIONS["demo-time"], regen_platform.SECTIONS["ttfb"]
    for args in (demo.args, demo.quick_args):
        assert args[args.index("--keep-var") + 1] == regen_platform.DEMO_VAR
    for args in (ttfb.args, ttfb.quick_args):
        assert args[args.index("--var") + 1] == regen_platform.DEMO_VAR
    missing = regen_platform.Section(ttfb.script, require_path=str(tmp_path / "no.sqlite3"))
    text, ok = regen_platform.run_section(missing)
    assert ok and text.startswith("Not measured in this run:") and "no.sqlite3 missing" in text


def test_platform_latency_runs_on_the_embedded_default(monkeypatch):
    """`make bench` with DATABASE_URL (for leaderboard-page) must not move the
    submit → scored figures off the stack `make demo` runs."""
    monkeypatch.setenv("DATABASE_URL", "postgres://x@127.0.0.1/y")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1/1")
    seen = {}

    def fake_run(cmd, **kw):
        seen.update(kw["env"])
        return type("P", (), {"returncode": 0, "stdout": "{}", "stderr": ""})()

    monkeypatch.setattr(regen_platform.subprocess, "run", fake_run)
    section = regen_platform.SECTIONS["platform-latency"]
    assert "--demo-worker" in section.args and "--demo-worker" in section.quick_args
    text, ok = regen_platform.run_section(section, quick=True)
    assert ok and "DATABASE_URL" not in seen and "CELERY_BROKER_URL" not in seen


def test_ttfb_markdown_lists_slow_routes_and_flags_the_target():
    from bench import ttfb

    row = {"route": "home", "as": "anonymous", "urls": 1, "p50_ms": 120.0, "max_ms": 130.0,
           "slowest_url": "/", "slowest_url_p50_ms": 120.0}
    fast = {**row, "route": "api-x", "p50_ms": 3.0, "max_ms": 4.0}
    report = {"benchmarks": 78, "reads": 3, "target_ms": 100, "load_average": (1.0, 1.0, 1.0),
              "over_target": ["home (anonymous): 120.0 ms"], "routes": [row, fast],
              "skipped": {"a (anonymous)": "78 URL(s) answered 302 text/html",
                          "b": "parameters nothing fills: uid"}}
    text = ttfb.markdown(report)
    assert "| `home` | anonymous | 1 | 120.0 | 130.0 | `/` (120.0) |" in text
    assert "`api-x`" not in text and "The other 1 (route, visitor) pairs: p50 3.0–3.0 ms." in text
    assert "**over 100 ms:** home (anonymous): 120.0 ms" in text
    assert "302 text/html (1), parameters nothing fills (1)" in text
    assert regen_platform.SECTIONS["ttfb"].markdown
    assert "--markdown" in regen_platform.SECTIONS["ttfb"].args
