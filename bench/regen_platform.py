"""Platform sections of docs/performance.md that ``bench/regenerate.py`` fills by
running a benchmark script and inserting what it prints.

Each entry names a section (``<!-- BEGIN GENERATED: name -->`` in the document),
the script, its arguments (full and ``--quick``) and whether the script prints
Markdown (inserted as is) or anything else (inserted as a fenced block). A
script missing on this branch leaves one line saying so, and is not an error.

PLACEHOLDERS for helper [perfweb] (leaderboard page, time to first byte,
embedded-broker latency, ``make demo`` time): fill ``script`` / ``args`` below
when those benchmarks land; the markers are already in docs/performance.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Section:
    script: str  # relative to the repository root
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    markdown: bool = False  # the script prints Markdown (else: a fenced block)
    env: dict[str, str] = field(default_factory=dict)
    needs: str = ""  # what the run needs, said in the section when it cannot run
    require_env: tuple[str, ...] = ()  # not run (and not a failure) without these
    timeout_s: int = 1800


SECTIONS: dict[str, Section] = {
    "rank-uncertainty": Section(
        "bench/rank_uncertainty.py",
        ("--teams", "2000", "--resamples", "1000"),
        ("--teams", "50", "--resamples", "50", "--repeats", "1"),
        env={"DATABASE_URL": "sqlite:////tmp/eb-regen-rank.sqlite3"},
    ),
    # ---- [perfweb] placeholders: set script/args when the benchmark exists ----
    "platform-latency": Section(
        "bench/platform_latency.py",
        (),
        ("--submissions", "3", "--burst", "2", "--samples", "1000"),
        needs="the embedded default (SQLite + SQLAlchemy broker); [perfweb] owns it",
    ),
    "leaderboard-page": Section(
        "bench/leaderboard_scale.py",
        ("--submissions", "100000", "--teams", "2000", "--reads", "20"),
        ("--submissions", "500", "--teams", "20", "--reads", "3"),
        needs="DATABASE_URL of a scratch PostgreSQL database; [perfweb] owns it",
        require_env=("DATABASE_URL",),
    ),
    "ttfb": Section(
        "bench/ttfb.py",
        needs="[perfweb]: time to first byte of every main page and API list under the demo catalog",
    ),
    "demo-time": Section(
        "bench/demo_time.py",
        needs="[perfweb]: `make demo` on a fresh clone to a served site",
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
    args = section.quick_args if quick else section.args
    cmd = [sys.executable, section.script, *args]
    env = {**os.environ, **section.env}
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
