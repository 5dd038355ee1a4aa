"""METEOR's answer cache (EARTHBENCH_METEOR_CACHE_DIR, evaluator/text/meteor.py).

The jar itself is replaced by a counting stand-in (``_run_jar``): what is tested is
when the cache answers and when it must not; the real jar's answers through the
cache are covered by the captioning tests, which run with the test run's cache on.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from evaluator.text import meteor
from evaluator.text.tokenizer import java_available, pycocoevalcap_dir

pytestmark = pytest.mark.skipif(
    not java_available() or pycocoevalcap_dir() is None, reason="no Java runtime or jar"
)

HYPS = ["a plane parked near the terminal", "many green trees"]
REFS = [["an airplane at the airport", "a plane on the apron"], ["a dense forest", "green trees"]]


@pytest.fixture
def jar_runs(monkeypatch, tmp_path):
    """The cache in tmp_path and a stand-in jar that counts its starts and answers
    values derived from what it was sent."""
    monkeypatch.setenv(meteor.CACHE_ENV, str(tmp_path / "meteor"))
    calls = []

    def fake_run_jar(jar, cmd, lines):
        calls.append(list(lines))
        stats = np.array([[len(line) + k / 7 for k in range(meteor.STATS_LENGTH)] for line in lines])
        return stats, stats[:, 0] / 1000, float(stats[:, 1].sum()) / 3

    monkeypatch.setattr(meteor, "_run_jar", fake_run_jar)
    return calls


def _entries(tmp_path):
    folder = tmp_path / "meteor"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_same_input_is_answered_from_the_cache_bit_for_bit(jar_runs, tmp_path):
    first = meteor.run_meteor(HYPS, REFS)
    again = meteor.run_meteor(list(HYPS), [list(r) for r in REFS])
    assert len(jar_runs) == 1 and len(_entries(tmp_path)) == 1
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert first[2] == again[2]
    assert again[0].shape == (2, meteor.STATS_LENGTH) and again[0].flags.writeable


@pytest.mark.parametrize("change", ["hypothesis", "reference", "order", "fewer"])
def test_any_other_input_starts_the_jar(jar_runs, change):
    meteor.run_meteor(HYPS, REFS)
    hyps, refs = list(HYPS), [list(r) for r in REFS]
    if change == "hypothesis":
        hyps[1] += " there"
    elif change == "reference":
        refs[0][1] = "a plane on the tarmac"
    elif change == "order":
        hyps, refs = hyps[::-1], refs[::-1]
    else:
        hyps, refs = hyps[:1], refs[:1]
    meteor.run_meteor(hyps, refs)
    assert len(jar_runs) == 2


def test_a_damaged_or_foreign_entry_is_a_miss_and_is_replaced(jar_runs, tmp_path):
    want = meteor.run_meteor(HYPS, REFS)
    (entry,) = (tmp_path / "meteor").iterdir()
    for damage in (b"", b"not numpy", entry.read_bytes()[:-8]):
        entry.write_bytes(damage)
        got = meteor.run_meteor(HYPS, REFS)
        assert np.array_equal(got[0], want[0])
    np.save(entry, np.zeros((5, 5)))  # a well-formed array of the wrong shape
    assert np.array_equal(meteor.run_meteor(HYPS, REFS)[0], want[0])
    with open(entry, "wb") as f:  # an .npz archive where an array belongs
        np.savez(f, a=np.zeros(3))
    assert np.array_equal(meteor.run_meteor(HYPS, REFS)[0], want[0])
    assert len(jar_runs) == 6
    meteor.run_meteor(HYPS, REFS)
    assert len(jar_runs) == 6  # the last run rewrote it


def test_an_entry_that_cannot_be_written_leaves_nothing_behind(jar_runs, tmp_path):
    meteor.run_meteor(HYPS, REFS)
    (entry,) = (tmp_path / "meteor").iterdir()
    entry.unlink()
    entry.mkdir()  # something in the way: the rename fails
    for _ in range(3):
        meteor.run_meteor(HYPS, REFS)
    assert len(jar_runs) == 4
    assert [p.name for p in (tmp_path / "meteor").iterdir()] == [entry.name]  # no .tmp files


def test_without_java_the_cache_does_not_answer(jar_runs, monkeypatch):
    meteor.run_meteor(HYPS, REFS)
    monkeypatch.setenv("EARTHBENCH_NO_JAVA", "1")
    with pytest.raises(meteor.MeteorUnavailable):
        meteor.run_meteor(HYPS, REFS)


def test_unset_means_no_cache(jar_runs, monkeypatch, tmp_path):
    monkeypatch.delenv(meteor.CACHE_ENV)
    meteor.run_meteor(HYPS, REFS)
    meteor.run_meteor(HYPS, REFS)
    assert len(jar_runs) == 2 and _entries(tmp_path) == []


def test_the_key_covers_the_jar_and_its_paraphrase_table(tmp_path, monkeypatch):
    monkeypatch.setenv(meteor.CACHE_ENV, str(tmp_path / "c"))
    jar = tmp_path / "meteor" / "meteor-1.5.jar"
    (jar.parent / "data").mkdir(parents=True)
    jar.write_bytes(b"jar")
    table = jar.parent / "data" / "paraphrase-en.gz"
    table.write_bytes(b"table")
    cmd, lines = ["java", "-jar", str(jar)], ["SCORE ||| a ||| b"]
    keys = {meteor._cache_file(jar, cmd, lines)}
    os.utime(table, ns=(1, 1))
    keys.add(meteor._cache_file(jar, cmd, lines))
    jar.write_bytes(b"another jar")
    keys.add(meteor._cache_file(jar, cmd, lines))
    keys.add(meteor._cache_file(jar, [*cmd, "-norm"], lines))
    assert len(keys) == 4
