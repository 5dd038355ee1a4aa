"""Build a small example benchmark bundle from a demo generator.

A bundle is one ZIP (docs/hosting-a-benchmark.md, "Benchmark bundles"):

    benchmark.yaml          the catalog schema (no include/demo/importer/suite)
    README.md               optional card (Markdown)
    public/...              what participants download
    truth.<ext> | truth/    the hidden ground truth, read by the kind's reader
    baseline.<ext>          a prediction file; scored, and refused when it fails
    sample_submission.<ext> a prediction file; scored and reported
    splits.json             optional fixed {"public": [ids], "private": [ids]}

``python -m benchmarks.bundle_example OUT.zip`` writes one (classification, 60
generated patches); the tests and ``make demo`` use :func:`build_example_bundle`.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

from benchmarks import generators

CLASSES = ["Cropland", "Forest", "Water"]

EXAMPLE_SPEC = {
    "slug": "example-landcover-v1",
    "title": "Example land-cover classification (bundle)",
    "summary": (
        "Classify small generated 4-band patches into three land-cover classes. "
        "This benchmark was created from an uploaded bundle, not from the catalog folder."
    ),
    "papers": ["Example bundle (no paper)"],
    "task_kind": "classification",
    "modalities": ["multispectral"],
    "metrics": [
        {"key": "oa", "label": "OA", "direction": "max", "format": "percent"},
        {"key": "macro_f1", "label": "Macro F1", "direction": "max", "format": "percent"},
    ],
    "primary_metric": "oa",
    "formats": ["CSV id,label"],
    "options": {"classes": CLASSES},
    "splits": {"public_fraction": 0.5, "seed": 0},
    "submission": {
        "predictions": True,
        "containers": False,
        "daily_quota": 5,
        "max_in_flight": 2,
        "final_selection": 2,
        "deadline": None,
    },
    "licence": "Generated data, CC0.",
}

CARD = """# Example land-cover classification

Three classes (**Cropland**, **Forest**, **Water**) of generated 4-band patches.

## Submit

A CSV `id,label` with one row per test patch (`public/sample_submission.csv`).
"""


def build_example_bundle(
    out: Path,
    *,
    spec: dict | None = None,
    seed: int = 7,
    card: str = CARD,
    splits: dict | None = None,
    yaml_text: str | None = None,
) -> Path:
    """Write a bundle ZIP at ``out``; ``spec`` overrides keys of the example spec,
    ``seed`` changes the generated truth (a new truth for a new version)."""
    data_spec = {**EXAMPLE_SPEC, **(spec or {})}
    params = {"classes": CLASSES, "bands": 4, "size": 8, "n_train_per_class": 4,
              "n_test_per_class": 10}
    with tempfile.TemporaryDirectory(prefix="eb-bundle-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        data = generators.generate("classification", params=params, out_dir=work, seed=seed)
        root = Path(tmp) / "bundle"
        root.mkdir()
        text = yaml_text if yaml_text is not None else yaml.safe_dump(data_spec, sort_keys=False)
        (root / "benchmark.yaml").write_text(text, encoding="utf-8")
        (root / "README.md").write_text(card, encoding="utf-8")
        shutil.copytree(data.public_dir, root / "public")
        shutil.copy2(data.truth_path, root / ("truth" + data.truth_path.suffix))
        shutil.copy2(data.baseline_path, root / ("baseline" + data.baseline_path.suffix))
        sample = data.public_dir / "sample_submission.csv"
        shutil.copy2(sample, root / "sample_submission.csv")
        if splits is not None:
            (root / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root).as_posix())
    return out


if __name__ == "__main__":  # pragma: no cover - convenience
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "example-bundle.zip")
    print(build_example_bundle(target))
