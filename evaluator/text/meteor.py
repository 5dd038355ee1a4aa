"""METEOR 1.5 through pycocoevalcap's jar, with subset aggregation in Python.

pycocoevalcap's ``Meteor`` runs ``java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en
-norm``, sends one ``SCORE ||| ref_1 ||| ... ||| ref_k ||| hyp`` line per image
(hypothesis with ``|||`` removed and double spaces collapsed once), and then one
``EVAL`` line with all per-image statistics. The jar answers the per-image scores
and a corpus score computed from the *summed* statistics — so the corpus METEOR is
**not** the mean of per-image scores. We run the jar once per evaluation the same
way, keep each image's 23 sufficient statistics, and re-implement the jar's
aggregation (``MeteorStats.addStats`` + ``MeteorScorer.computeMetrics``, English
defaults alpha 0.85, beta 0.2, gamma 0.6, delta 0.75, module weights 1.0 0.6 0.8
0.6) so any subset or bootstrap resample is scored without a JVM. The tests check
this aggregation against the jar's own EVAL answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from evaluator.text.tokenizer import java_available, pycocoevalcap_dir

ALPHA, BETA, GAMMA, DELTA = 0.85, 0.2, 0.6, 0.75
WEIGHTS = np.array([1.0, 0.6, 0.8, 0.6])
STATS_LENGTH = 23
JAVA_TIMEOUT_S = 900
#: A folder where the jar's answers are kept, keyed by exactly what it was sent
#: (unset: no cache). See :func:`_cached`.
CACHE_ENV = "EARTHBENCH_METEOR_CACHE_DIR"


class MeteorUnavailable(Exception):
    """Java or the jar is missing or failed; the score must say "unavailable"."""


def _score_line(hyp: str, refs: list[str]) -> str:
    hyp = hyp.replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(refs), hyp))


def run_meteor(
    hyps: list[str], refs: list[list[str]]
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-image stats (n x 23), the jar's per-image scores and its corpus score."""
    base = pycocoevalcap_dir()
    jar = base / "meteor" / "meteor-1.5.jar" if base else None
    if jar is None or not jar.exists():
        raise MeteorUnavailable("pycocoevalcap's meteor-1.5.jar is not installed")
    if not java_available():
        raise MeteorUnavailable("no working Java runtime")
    cmd = ["java", "-jar", "-Xmx2G", str(jar), "-", "-", "-stdio", "-l", "en", "-norm"]
    lines = [_score_line(h, rs) for h, rs in zip(hyps, refs, strict=True)]
    cache = _cache_file(jar, cmd, lines)
    hit = _cached(cache, len(lines))
    if hit is not None:
        return hit
    stats, scores, corpus = _run_jar(jar, cmd, lines)
    _store(cache, stats, scores, corpus)
    return stats, scores, corpus


def _run_jar(jar: Path, cmd: list[str], lines: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    # Two phases (SCORE lines, then EVAL) as in pycocoevalcap; the statistics are
    # needed before EVAL can be written, so they are read line by line.
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=str(jar.parent),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise MeteorUnavailable(f"cannot start Java ({exc})") from None
    try:
        assert proc.stdin is not None and proc.stdout is not None
        stat_lines = []
        for score_line in lines:
            proc.stdin.write((score_line + "\n").encode())
            proc.stdin.flush()
            line = proc.stdout.readline().decode().strip()
            if not line:
                raise MeteorUnavailable("METEOR jar stopped answering")
            stat_lines.append(line)
        proc.stdin.write(("EVAL ||| " + " ||| ".join(stat_lines) + "\n").encode())
        proc.stdin.flush()
        scores = [float(proc.stdout.readline().strip()) for _ in stat_lines]
        corpus = float(proc.stdout.readline().strip())
    except (OSError, ValueError) as exc:
        raise MeteorUnavailable(f"METEOR jar failed ({exc})") from None
    finally:
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        proc.kill()
        proc.wait()
    stats = np.array(
        [[float(x) for x in s.split()] for s in stat_lines], dtype=np.float64
    )
    if stats.ndim != 2 or stats.shape[1] != STATS_LENGTH:
        raise MeteorUnavailable("unexpected METEOR statistics format")
    return stats, np.array(scores), corpus


# ------------------------------------------------------------ cache
# The jar is deterministic: the same lines sent to the same jar and paraphrase
# table give the same answers. A host that scores the same captions again (a
# re-score into a new benchmark version, a resubmitted file, the CLI reproducing
# a stored score on the scoring machine) can skip the JVM, whose start costs about
# 5 s of CPU (the paraphrase table), with ``EARTHBENCH_METEOR_CACHE_DIR`` set.
# The key covers every line sent, the command, and the jar's and the table's
# size and modification time; a missing, partial or malformed entry is a miss.
# Java and the jar are still required (checked before the cache), so a host
# without them reports "unavailable" whatever the cache holds.


def _cache_file(jar: Path, cmd: list[str], lines: list[str]) -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    digest = hashlib.sha256()
    for part in (jar, jar.parent / "data" / "paraphrase-en.gz"):
        try:
            st = part.stat()
            digest.update(f"{part}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{part}:missing\n".encode())
    digest.update(json.dumps([cmd, lines]).encode())
    return Path(folder) / f"{digest.hexdigest()}.npy"


def _cached(path: Path | None, n: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """An entry is one float64 array: a row per image (its 23 statistics, then its
    score) and a last row holding the corpus score."""
    if path is None:
        return None
    try:
        entry = np.load(path, allow_pickle=False)
    except Exception:  # absent, truncated, not numpy: a miss (the jar answers)
        return None
    if not isinstance(entry, np.ndarray):  # an .npz archive: not ours
        entry.close()
        return None
    if entry.dtype != np.float64 or entry.shape != (n + 1, STATS_LENGTH + 1):
        return None
    return entry[:n, :STATS_LENGTH].copy(), entry[:n, STATS_LENGTH].copy(), float(entry[n, 0])


def _store(path: Path | None, stats: np.ndarray, scores: np.ndarray, corpus: float) -> None:
    if path is None:
        return
    entry = np.zeros((len(stats) + 1, STATS_LENGTH + 1), dtype=np.float64)
    entry[:-1, :STATS_LENGTH], entry[:-1, STATS_LENGTH], entry[-1, 0] = stats, scores, corpus
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, entry, allow_pickle=False)
        os.replace(tmp, path)  # complete or absent
    except OSError:  # the cache is an optimisation: a read-only or full disk only costs time
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def score_from_stats(s: np.ndarray) -> float:
    """``MeteorScorer.computeMetrics`` on one (possibly summed) statistics row."""
    tl, rl, tf, rf = s[0], s[1], s[2], s[3]
    mods = s[4:20].reshape(4, 4)  # per module: test/ref content, test/ref function
    t_total = mods[:, 0].sum() + mods[:, 2].sum()
    r_total = mods[:, 1].sum() + mods[:, 3].sum()
    chunks = s[20]
    with np.errstate(divide="ignore", invalid="ignore"):
        twl = DELTA * (tl - tf) + (1.0 - DELTA) * tf
        rwl = DELTA * (rl - rf) + (1.0 - DELTA) * rf
        twm = (mods[:, 0] * WEIGHTS * DELTA).sum() + (
            mods[:, 2] * WEIGHTS * (1 - DELTA)
        ).sum()
        rwm = (mods[:, 1] * WEIGHTS * DELTA).sum() + (
            mods[:, 3] * WEIGHTS * (1 - DELTA)
        ).sum()
        p = np.float64(twm) / np.float64(twl)
        r = np.float64(rwm) / np.float64(rwl)
        fmean = 1.0 / (((1.0 - ALPHA) / p) + (ALPHA / r))
        if t_total == tl and r_total == rl and chunks == 1:
            frag = np.float64(0.0)
        else:
            frag = np.float64(chunks) / ((t_total + r_total) / 2)
        score = fmean * (1.0 - GAMMA * frag**BETA)
    if np.isnan(score):
        return 0.0
    return float(max(score, 0.0))


def aggregate(stats: np.ndarray, index: np.ndarray | None = None) -> float:
    """Corpus METEOR of the rows ``index`` (repeats allowed), as the jar's EVAL."""
    rows = stats if index is None else stats[index]
    total = rows.sum(axis=0)
    # addStats: a segment aligned perfectly in one chunk adds no chunks.
    mods = rows[:, 4:20].reshape(len(rows), 4, 4)
    t_total = mods[:, :, 0].sum(1) + mods[:, :, 2].sum(1)
    r_total = mods[:, :, 1].sum(1) + mods[:, :, 3].sum(1)
    perfect = (t_total == rows[:, 0]) & (r_total == rows[:, 1]) & (rows[:, 20] == 1.0)
    total[20] = rows[~perfect, 20].sum()
    return score_from_stats(total)
