"""evaluator.scoring: the leaderboard's per-split composition, and the CLI that prints it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluator.api import evaluate
from evaluator.cli import main
from evaluator.scoring import score_splits
from evaluator.stats import bootstrap_ci


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    classes = ["Forest", "River", "Urban"]
    ids = [f"s{i:03d}" for i in range(120)]
    truth = [classes[i] for i in rng.integers(0, 3, len(ids))]
    pred = [t if rng.random() < 0.7 else classes[rng.integers(0, 3)] for t in truth]
    blocks = [f"b{i // 10}" for i in range(len(ids))]
    (tmp_path / "truth.csv").write_text(
        "id,label,block\n" + "".join(f"{i},{t},{b}\n" for i, t, b in zip(ids, truth, blocks, strict=True))
    )
    (tmp_path / "pred.csv").write_text("id,label\n" + "".join(f"{i},{p}\n" for i, p in zip(ids, pred, strict=True)))
    public = ids[::2]
    (tmp_path / "public.txt").write_text("\n".join(public) + "\n")
    return tmp_path, public


def _cli(capsys, *args) -> tuple[int, dict | str]:
    rc = main(["score", *args])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else err)


def test_score_splits_uses_the_kinds_blocks_and_pairs_draws(files):
    tmp, public = files
    ev = evaluate("classification", tmp / "pred.csv", tmp / "truth.csv")
    assert ev.blocks is not None  # declared on Evaluation, read from the truth
    rec = score_splits(ev, {"public": public}, primary="oa", n_resamples=100, seed=3)["public"]
    from evaluator.api import subset_index

    idx = subset_index(ev, public)
    assert rec["metrics"] == ev.compute(idx)
    want = bootstrap_ci(ev, ["oa"], index=idx, n_resamples=100, seed=3, blocks=ev.blocks)
    assert rec["ci"]["oa"] == pytest.approx(list(want["oa"]))
    assert len(rec["primary_draws"]) == 100 and len(rec["draws_key"]) == 32
    assert set(rec["samples"]) and all(len(v) == len(public) for v in rec["samples"].values())


def test_cli_prints_what_the_leaderboard_stores(files, capsys):
    tmp, public = files
    rc, got = _cli(capsys, "--kind", "classification", "--predictions", str(tmp / "pred.csv"),
                   "--truth", str(tmp / "truth.csv"), "--ids", str(tmp / "public.txt"),
                   "--bootstrap", "80", "--seed", "0", "--draws")
    assert rc == 0
    ev = evaluate("classification", tmp / "pred.csv", tmp / "truth.csv")
    want = score_splits(ev, {"public": public}, primary="oa", n_resamples=80, seed=0)["public"]
    assert got["metrics"] == json.loads(json.dumps(want["metrics"]))
    assert got["ci"] == want["ci"] and got["primary_value"] == want["primary_value"]
    assert got["primary_draws"] == want["primary_draws"] and got["draws_key"] == want["draws_key"]
    assert (got["n_resamples"], got["seed"]) == (80, 0)


def test_cli_ids_alone_scores_the_subset(files, capsys):
    tmp, public = files
    rc, got = _cli(capsys, "--kind", "classification", "--predictions", str(tmp / "pred.csv"),
                   "--truth", str(tmp / "truth.csv"), "--ids", str(tmp / "public.txt"))
    ev = evaluate("classification", tmp / "pred.csv", tmp / "truth.csv")
    from evaluator.api import subset_index

    assert rc == 0 and got == json.loads(json.dumps(ev.compute(subset_index(ev, public))))
    rc, full = _cli(capsys, "--kind", "classification", "--predictions", str(tmp / "pred.csv"),
                    "--truth", str(tmp / "truth.csv"))
    assert full["oa"] != got["oa"] or full["n_samples"] != got.get("n_samples")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ids", "missing.txt"], "--ids missing.txt: cannot read"),
        (["--ids", "{bad}"], "not in the truth, e.g. 'nope'"),
        (["--ids", "{empty}"], "--ids empty.txt: no ids"),
        (["--ids", "{dup}"], "--ids dup.txt line 3: duplicate id 's000' (first on line 1)"),
        (["--bootstrap", "-1"], "--bootstrap must be >= 0"),
        (["--blocks", "{badblocks}"], "line 2: expected 2 columns id,block, found 3"),
    ],
)
def test_cli_refuses_bad_subset_options_in_one_line(files, capsys, extra, message):
    tmp, _ = files
    (tmp / "bad.txt").write_text("s000\nnope\n")
    (tmp / "empty.txt").write_text("\n\n")
    (tmp / "dup.txt").write_text("s000\ns001\ns000\n")
    (tmp / "badblocks.csv").write_text("id,block\ns000,a,b\n")
    extra = [e.format(bad=tmp / "bad.txt", empty=tmp / "empty.txt", dup=tmp / "dup.txt",
                      badblocks=tmp / "badblocks.csv")
             for e in extra]
    rc, err = _cli(capsys, "--kind", "classification", "--predictions", str(tmp / "pred.csv"),
                   "--truth", str(tmp / "truth.csv"), *extra)
    assert rc == 2 and message in err and err.count("\n") == 1
