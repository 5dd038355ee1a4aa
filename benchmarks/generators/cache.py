"""A folder of generated demo datasets shared by processes (``EARTHBENCH_DEMO_CACHE_DIR``).

A demo dataset is a pure function of its generator's code, ``params`` and ``seed``
(the generator tests assert identical bytes from two runs in two folders), so a
process that needs one a second time, or a second process (a test worker, a
``manage.py`` subprocess of another test), copies it instead of generating it again.

An entry is keyed by the generator name, :func:`generator_sha256` (its source and
the shared code it builds on), ``params`` and ``seed``; it is written under a file
lock (one process generates, the others wait for it) into a temporary folder and
renamed into place, so an entry is either complete or absent. Nothing is ever
evicted: the tests use a fresh folder per session (``tests/conftest.py``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.generators import DemoData, generate, generator_sha256

ENTRY_FORMAT = 1  # bump when the entry layout below changes


def cache_key(name: str, *, params: dict, seed: int) -> str:
    blob = json.dumps(
        {"format": ENTRY_FORMAT, "generator": name, "code": generator_sha256(name),
         "params": params, "seed": seed},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def _relative(path: Path | None, root: Path) -> str | None:
    return None if path is None else Path(path).resolve().relative_to(root.resolve()).as_posix()


def _record(data: DemoData, root: Path) -> dict | None:
    """DemoData with paths relative to ``root``; None when a path lies outside it."""
    try:
        return {
            "public_dir": _relative(data.public_dir, root),
            "truth_path": _relative(data.truth_path, root),
            "baseline_path": _relative(data.baseline_path, root),
            "sample_ids": list(data.sample_ids),
            "baseline_name": data.baseline_name,
            "blocks": dict(data.blocks),
        }
    except ValueError:
        return None


def _restore(record: dict, root: Path) -> DemoData:
    def at(rel: str | None) -> Path | None:
        return None if rel is None else root / rel

    return DemoData(
        public_dir=at(record["public_dir"]),
        truth_path=at(record["truth_path"]),
        sample_ids=list(record["sample_ids"]),
        baseline_path=at(record["baseline_path"]),
        baseline_name=record["baseline_name"],
        blocks=dict(record["blocks"]),
    )


def _entry(name: str, *, params: dict, seed: int, cache_dir: Path) -> Path | None:
    """The complete cache entry for this dataset, generated first when absent (one
    process at a time); None when the generator writes outside its folder."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = cache_key(name, params=params, seed=seed)
    entry = cache_dir / key
    if (entry / "demo.json").is_file():
        return entry
    with open(cache_dir / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (entry / "demo.json").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", suffix=".tmp", dir=cache_dir))
            try:
                data = generate(name, params=params, out_dir=tmp / "data", seed=seed)
                record = _record(data, tmp / "data")
                if record is None:
                    return None
                (tmp / "demo.json").write_text(json.dumps(record))
                tmp.rename(entry)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return entry


def generate_cached(
    name: str, *, params: dict, out_dir: Path, seed: int, cache_dir: Path
) -> DemoData:
    """:func:`generate` into ``out_dir``, copied from ``cache_dir`` when an earlier
    call (of any process) generated the same dataset: the same bytes either way."""
    entry = _entry(name, params=params, seed=seed, cache_dir=cache_dir)
    if entry is None:  # not cacheable
        return generate(name, params=params, out_dir=Path(out_dir), seed=seed)
    shutil.copytree(entry / "data", out_dir, dirs_exist_ok=True)
    return _restore(json.loads((entry / "demo.json").read_text()), Path(out_dir))


def read_cached(name: str, *, params: dict, seed: int, cache_dir: Path) -> DemoData:
    """The cached dataset in place, generated first when absent: for readers that
    only need its sample ids or read its files (they must not modify them)."""
    entry = _entry(name, params=params, seed=seed, cache_dir=cache_dir)
    if entry is None:
        raise RuntimeError(f"demo generator {name!r} writes outside its folder: use generate()")
    return _restore(json.loads((entry / "demo.json").read_text()), entry / "data")
