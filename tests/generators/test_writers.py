"""``benchmarks.writers`` is the one writer of generated and imported files:
one line ending, deterministic archives, no second copy elsewhere."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import numpy as np

from benchmarks import writers

REPO = Path(__file__).resolve().parents[2]


def test_csv_json_lines_end_in_newline_only(tmp_path):
    writers.write_csv(tmp_path / "a.csv", ["id", "label"], [["s1", "x, y"], ["s2", "é"]])
    writers.write_json(tmp_path / "a.json", {"é": 1})
    writers.write_jsonl(tmp_path / "a.jsonl", [{"a": 1}, {"b": 2}])
    writers.write_readme(tmp_path / "pub", "  hello\n\n")
    for name in ("a.csv", "a.json", "a.jsonl", "pub/README.txt"):
        data = (tmp_path / name).read_bytes()
        assert b"\r" not in data and data.endswith(b"\n"), name
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == 'id,label\ns1,"x, y"\ns2,é\n'


def test_archives_are_byte_identical_and_readable(tmp_path):
    (tmp_path / "f" / "sub").mkdir(parents=True)
    (tmp_path / "f" / "b.txt").write_text("b")
    (tmp_path / "f" / "sub" / "a.txt").write_text("a")
    a = writers.zip_folder(tmp_path / "f", tmp_path / "a.zip").read_bytes()
    b = writers.write_zip(tmp_path / "b.zip", {"sub/a.txt": "a", "b.txt": b"b"}).read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert [i.date_time for i in zf.infolist()] == [writers.ZIP_DATE] * 2
    arrays = {"y": np.arange(3), "x": np.eye(2)}
    p = writers.write_npz(tmp_path / "c.npz", arrays)
    assert p.read_bytes() == writers.write_npz(tmp_path / "d.npz", arrays).read_bytes()
    with np.load(p) as npz:
        assert sorted(npz.files) == ["x", "y"] and np.array_equal(npz["x"], np.eye(2))


def test_no_second_writer_in_benchmarks():
    """No module of benchmarks/ but writers.py defines a CSV/JSON/ZIP writer."""
    names = {"write_csv", "write_json", "write_jsonl", "write_zip", "zip_folder",
             "write_npz", "write_readme", "write_png", "save_png", "npy_bytes"}
    found = []
    for path in (REPO / "benchmarks").rglob("*.py"):
        if path == REPO / "benchmarks" / "writers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in names:
                found.append(f"{path.relative_to(REPO)}: {node.name}")
    assert not found, found
