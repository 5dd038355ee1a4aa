"""registration (3DMatch): validation messages, scene matching, CLI and the
bulk log reader."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError
from tests.evaluator.registration_cases import (
    REPO,
    fmt_block,
    write_log,
)

# ---- validation -------------------------------------------------------------


@pytest.fixture
def small(tmp_path):
    info = np.diag([100.0, 100, 100, 40, 50, 60])
    blocks = [(0, 2, 5, np.eye(4)), (1, 3, 5, np.eye(4)), (2, 4, 5, np.eye(4))]
    write_log(tmp_path / "t" / "kitchen" / "gt.log", blocks)
    write_log(
        tmp_path / "t" / "kitchen" / "gt.info",
        [(i, j, n, info) for i, j, n, _ in blocks],
    )
    return tmp_path, blocks


def score(tmp_path, **opts):
    return api.score("registration", tmp_path / "p", tmp_path / "t", opts)


def test_non_orthonormal_rotation_names_file_line_pair(small):
    tmp, blocks = small
    bad = np.eye(4)
    bad[:3, :3] *= 1.01
    write_log(tmp / "p" / "kitchen.log", [blocks[0], (1, 3, 5, bad), blocks[2]])
    with pytest.raises(
        ValidationError,
        match=r"kitchen.log line 6: pair 1 3: rotation is not orthonormal",
    ):
        score(tmp)
    refl = np.diag([1.0, 1, -1, 1])  # orthogonal but det = -1
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[1], (2, 4, 5, refl)])
    with pytest.raises(
        ValidationError,
        match=r"line 11: pair 2 4: rotation is not orthonormal .*det = -1",
    ):
        score(tmp)
    last = np.eye(4)
    last[3, 0] = 0.5
    write_log(tmp / "p" / "kitchen.log", [(0, 2, 5, last), blocks[1], blocks[2]])
    with pytest.raises(
        ValidationError, match=r"line 1: pair 0 2: last row must be 0 0 0 1"
    ):
        score(tmp)


def test_malformed_blocks_name_the_line(small):
    tmp, blocks = small
    good = write_log(tmp / "p" / "kitchen.log", blocks).read_text().splitlines()
    cases = [
        (8, "1\t0\tx\t0", r"kitchen.log line 8: not a number"),
        (6, "1 3", r"kitchen.log line 6: expected a header 'i j n' of 3 integers"),
        (
            3,
            "0 1 0",
            r"kitchen.log line 3: expected 4 numbers \(row 2 of the matrix of pair 0 2\)",
        ),
    ]
    for lineno, text, msg in cases:
        lines = list(good)
        lines[lineno - 1] = text
        (tmp / "p" / "kitchen.log").write_text("\n".join(lines) + "\n")
        with pytest.raises(ValidationError, match=msg):
            score(tmp)
    (tmp / "p" / "kitchen.log").write_text("\n".join(good[:-2]) + "\n")
    with pytest.raises(ValidationError, match=r"kitchen.log line 11: incomplete block"):
        score(tmp)


def test_missing_duplicate_and_partial(small):
    tmp, blocks = small
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[0], blocks[2]])
    with pytest.raises(
        ValidationError,
        match=r"kitchen.log line 6: duplicate pair '0 2' \(first on line 1\)",
    ):
        score(tmp)
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[2], (0, 1, 5, np.eye(4))])
    with pytest.raises(
        ValidationError, match=r"kitchen.log: 1 evaluated pair\(s\) missing: '1 3'"
    ):
        score(tmp)
    out = score(tmp, partial=True)
    assert out["rr"] == pytest.approx(2 / 3)  # the missing pair fails; (0,1) ignored
    (tmp / "p" / "kitchen.log").rename(tmp / "p" / "bedroom.log")
    with pytest.raises(
        ValidationError, match=r"no prediction for scene 'kitchen' .*'bedroom'"
    ):
        score(tmp)
    with pytest.raises(
        ValidationError, match=r"option variant must be 'rmse' or 'rre_rte'"
    ):
        score(tmp, variant="dgr")


def test_scene_matching_by_trailing_path(tmp_path):
    # truth with two benchmark folders sharing scene names; one prediction
    # file per scene (Predator's <scene>/est.log layout) serves both.
    info = np.diag([100.0, 100, 100, 40, 50, 60])
    for bench in ("3DMatch", "3DLoMatch"):
        write_log(tmp_path / "t" / bench / "lab" / "gt.log", [(0, 2, 5, np.eye(4))])
        write_log(tmp_path / "t" / bench / "lab" / "gt.info", [(0, 2, 5, info)])
    moved = np.eye(4)
    moved[0, 3] = 1.0
    write_log(tmp_path / "p" / "lab" / "est.log", [(0, 2, 5, np.eye(4))])
    out = api.score("registration", tmp_path / "p", tmp_path / "t")
    assert (
        set(out["per_scene"]) == {"3DMatch/lab", "3DLoMatch/lab"} and out["rr"] == 1.0
    )
    # a more specific file wins for its benchmark
    write_log(tmp_path / "p" / "3DLoMatch" / "lab.log", [(0, 2, 5, moved)])
    out = api.score("registration", tmp_path / "p", tmp_path / "t")
    assert out["per_scene"]["3DMatch/lab"]["rr"] == 1.0
    assert out["per_scene"]["3DLoMatch/lab"]["rr"] == 0.0


def test_cli_zip_ok_and_error(small):
    tmp, blocks = small
    zpath = tmp / "sub.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("kitchen.log", "".join(fmt_block(*b) for b in blocks))
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "registration",
        "--predictions",
        str(zpath),
        "--truth",
        str(tmp / "t"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["rr"] == 1.0 and out["per_scene"]["kitchen"]["n_pairs"] == 3
    bad = np.eye(4)
    bad[0, 1] = 0.3
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(
            "kitchen.log",
            "".join(fmt_block(*b) for b in blocks[:2]) + fmt_block(2, 4, 5, bad),
        )
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert (
        "sub.zip:kitchen.log line 11: pair 2 4: rotation is not orthonormal"
        in res.stderr
    )


# ----------------------------------------------------- bulk reader (issue 23)

_VALID_LOGS = [
    "0 2 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",
    "\n\n  3   4 9 \r\n1 0 0 1e-3\r\n0 1 0 -2.5E+1\r\n0 0 1 0\r\n0 0 0 1\r\n\n",
    "1 3 9\n\t1.0000000000e+00 0 0 nan\n0 1 0 inf\n0 0 1 0\n0 0 0 1\n"
    "2 4 9\n+1 0 0 0\n0 1_0 0 0\n0 0 1 0\n0 0 0 1",
    "7 9 12\n 1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n",
]


@pytest.mark.parametrize("text", _VALID_LOGS)
def test_bulk_reader_equals_the_line_reader(text):
    from evaluator.kinds.registration import _parse_bulk, _parse_lines

    dim = 6 if text.startswith("7 9") else 4
    bulk, lines = _parse_bulk(text, dim), _parse_lines(text, dim, "f")
    assert bulk is not None
    for field in ("pairs", "n_frames", "mats", "lines"):
        np.testing.assert_array_equal(getattr(bulk, field), getattr(lines, field))
        assert getattr(bulk, field).dtype == getattr(lines, field).dtype


@pytest.mark.parametrize(
    "text",
    [
        "0 2 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n",  # incomplete block
        "0 2.0 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # float in the header
        "0 2 5\n1 0 0 0.5 7\n0 1 0\n0 0 1 0\n0 0 0 1\n",  # right total, wrong rows
        "0 2 5\n1 0 0 x\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # not a number
        "0 2 5\r1 0 0 0\r0 1 0 0\r0 0 1 0\r0 0 0 1\r",  # old Mac line breaks
        "0 2 5\n1 0 0 0\x0c0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # form feed: a line break
        "0 2 5\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 \u00a01\n",  # non-ASCII space
        "",
    ],
)
def test_bulk_reader_leaves_anything_unusual_to_the_line_reader(text):
    from evaluator.kinds.registration import _parse_bulk, parse_blocks

    assert _parse_bulk(text, 4) is None
    try:  # whatever the line reader says (a result or its error) is the answer
        parse_blocks(text, 4, "f")
    except ValidationError as exc:
        assert "f line" in str(exc)
