"""Platform sections of docs/performance.md that ``bench/regenerate.py`` fills by
running a benchmark script and inserting what it prints.

Each entry names a section (``<!-- BEGIN GENERATED: name -->`` in the document),
the script, its arguments (full and ``--quick``) and whether the script prints
Markdown (inserted as is) or anything else (inserted as a fenced block). A
script missing on this branch leaves one line saying so, and is not an error.

The platform figures of issue 23: submit → scored on ``make demo``'s worker
(``platform-latency``), the leaderboard page at scale (``leaderboard-page``, only
with ``DATABASE_URL``), ``make demo``'s time to a served site (``demo-time``) and
the time to first byte of every page on that served demo (``ttfb``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Where the demo-time section leaves a served demo's var folder for ttfb.
DEMO_VAR = "/tmp/eb-regen-demo-var"


@dataclass(frozen=True)
class Section:
    script: str  # relative to the repository root
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    markdown: bool = False  # the script prints Markdown (else: a fenced block)
    env: dict[str, str] = field(default_factory=dict)
    needs: str = ""  # what the run needs, said in the section when it cannot run
    require_env: tuple[str, ...] = ()  # not run (and not a failure) without these
    unset_env: tuple[str, ...] = ()  # removed from the environment of the run
    require_path: str = ""  # not run (and not a failure) unless this file exists
    timeout_s: int = 1800


SECTIONS: dict[str, Section] = {
    "rank-uncertainty": Section(
        "bench/rank_uncertainty.py",
        ("--teams", "2000", "--resamples", "1000"),
        ("--teams", "50", "--resamples", "50", "--repeats", "1"),
        env={"DATABASE_URL": "sqlite:////tmp/eb-regen-rank.sqlite3"},
    ),
    "platform-latency": Section(
        "bench/platform_latency.py",
        ("--demo-worker",),
        ("--demo-worker", "--submissions", "3", "--burst", "2", "--samples", "1000",
         "--idle-seconds", "2"),
        needs="the embedded default (SQLite + the wake-on-commit SQLite broker) with "
        "`make demo`'s worker command line",
        # the embedded default even when DATABASE_URL is set for leaderboard-page
        unset_env=("DATABASE_URL", "CELERY_BROKER_URL"),
    ),
    "leaderboard-page": Section(
        "bench/leaderboard_scale.py",
        ("--submissions", "100000", "--teams", "2000", "--reads", "20", "--reuse"),
        ("--submissions", "500", "--teams", "20", "--reads", "3"),
        needs="DATABASE_URL of a scratch PostgreSQL database",
        require_env=("DATABASE_URL",),
    ),
    # demo-time leaves a served demo's var folder at DEMO_VAR; ttfb (after it:
    # the dictionary's order is the run order) measures every page on it.
    "demo-time": Section(
        "bench/demo_time.py",
        ("--background", "--keep-var", DEMO_VAR),
        ("--keep-var", DEMO_VAR),
        markdown=True,
        needs="`make demo`'s steps in a scratch var folder (a few minutes; the "
        "virtual environment already installed)",
        timeout_s=3600,
    ),
    "ttfb": Section(
        "bench/ttfb.py",
        ("--var", DEMO_VAR, "--reads", "3", "--markdown"),
        ("--var", DEMO_VAR, "--reads", "1", "--markdown"),
        markdown=True,
        needs=f"the demo catalog in {DEMO_VAR}, left by the demo-time section",
        require_path=DEMO_VAR + "/db.sqlite3",
    ),
}


def run_section(section: Section, quick: bool = False) -> tuple[str, bool]:
    """``(text for the document, ok)``."""
    script = REPO / section.script
    if not script.exists():
        return (
            f"Not measured: `{section.script}` is not on this branch"
            + (f" ({section.needs})" if section.needs else "")
            + ".",
            True,
        )
    unset = [v for v in section.require_env if not os.environ.get(v)]
    if unset:
        return f"Not measured in this run: {', '.join(unset)} unset ({section.needs}).", True
    if section.require_path and not Path(section.require_path).exists():
        return f"Not measured in this run: {section.require_path} missing ({section.needs}).", True
    args = section.quick_args if quick else section.args
    cmd = [sys.executable, section.script, *args]
    env = {**os.environ, **section.env}
    for name in section.unset_env:
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(REPO / "platform"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True,
            timeout=section.timeout_s,
        )
    except subprocess.TimeoutExpired:
        return f"`{' '.join(cmd[1:])}` did not finish in {section.timeout_s} s.", False
    shown = "python " + " ".join(cmd[1:])
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-1500:]
        return (
            f"`{shown}` failed (exit {proc.returncode})"
            + (f"; needs {section.needs}" if section.needs else "")
            + f":\n\n```\n{tail.strip()}\n```",
            False,
        )
    out = proc.stdout.strip()
    body = out if section.markdown else f"```\n{out}\n```"
    return f"`{shown}`:\n\n{body}", True
