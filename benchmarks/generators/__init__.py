"""Deterministic demo-data generators, one per task kind, parametrised by the
benchmark's ``demo.params``. Each writes public inputs, hidden ground truth and a
baseline submission into a work folder and returns a :class:`DemoData`."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DemoData:
    public_dir: Path  # everything participants may download
    truth_path: Path  # file or folder, read by the evaluator as the truth Source
    sample_ids: list[str]  # test sample ids, as the evaluator's Evaluation names them
    baseline_path: Path | None = None
    baseline_name: str = "baseline"
    blocks: dict[str, str] = field(default_factory=dict)


def generator_exists(name: str) -> bool:
    """Generator ``name`` lives in ``benchmarks/generators/<name with _>.py``."""
    module = name.replace("-", "_")
    return module.isidentifier() and importlib.util.find_spec(
        f"benchmarks.generators.{module}"
    ) is not None


def generate(name: str, *, params: dict, out_dir: Path, seed: int) -> DemoData:
    if not generator_exists(name):
        raise ValueError(f"unknown demo generator {name!r}")
    module = importlib.import_module(f"benchmarks.generators.{name.replace('-', '_')}")
    return module.generate(params=params, out_dir=out_dir, seed=seed)


def generator_sha256(name: str) -> str:
    """Hash of the generator's source and the shared code it builds on (the
    scene package, text helpers, file writers): a change regenerates the demo data."""
    import hashlib

    here = Path(__file__).resolve().parent
    shared = [*sorted((here / "scene").glob("*.py")), here / "text.py", here.parent / "writers.py"]
    digest = hashlib.sha256()
    for path in (here / f"{name.replace('-', '_')}.py", *shared):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def stable_seed(seed: int, *names: str) -> int:
    """A seed for one stream of a generator (e.g. 'train', 'test', 'baseline') so that
    adding draws to one stream leaves the others unchanged."""
    import zlib

    return (seed * 1_000_003 + zlib.crc32("/".join(names).encode())) % 2**63
