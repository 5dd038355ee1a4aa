"""Load and validate ``benchmarks/<slug>/benchmark.yaml`` files.

Benchmarks are data: a YAML file validated against :data:`SCHEMA`. ``include:``
names another benchmark folder (or a ``_shared/*.yaml`` file) whose mapping is
deep-merged under this one, for variants. Errors name the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CATALOG_DIR = Path(__file__).resolve().parent
SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*-v[0-9]+$"

_metric = {
    "type": "object",
    "required": ["key", "direction"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "label": {"type": "string"},
        "direction": {"enum": ["max", "min"]},
        "format": {"enum": ["percent", "number"]},
    },
}

_suite_reference = {
    "type": "object",
    "required": ["min", "max"],
    "properties": {
        "metric": {"type": "string"},
        "direction": {"enum": ["max", "min"]},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "scores": {"type": "array", "items": {"type": "number"}},
        "source": {"type": "string"},
    },
}

_suite = {
    "type": "object",
    "required": ["members"],
    "properties": {
        "members": {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": SLUG_RE},
        },
        "aggregate": {"enum": ["iqm"]},
        "confidence": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "n_resamples": {"type": "integer", "minimum": 1},
        "seed": {"type": "integer"},
        "reference": {"type": "object", "additionalProperties": _suite_reference},
        "note": {"type": "string"},
    },
}

_efficiency = {
    "type": "object",
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "ranked": {"type": "boolean"},
        "pareto": {
            "type": "object",
            "required": ["x", "y"],
            "properties": {"x": {"type": "string"}, "y": {"type": "string"}},
        },
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "slug",
        "title",
        "summary",
        "papers",
        "task_kind",
        "metrics",
        "primary_metric",
        "formats",
    ],
    "additionalProperties": False,
    "properties": {
        "include": {"type": "string"},
        "slug": {"type": "string", "pattern": SLUG_RE},
        "title": {"type": "string", "minLength": 3},
        "summary": {"type": "string", "minLength": 10},
        "papers": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "task_kind": {"type": "string"},
        "modalities": {"type": "array", "items": {"type": "string"}},
        "sensors": {"type": "array", "items": {"type": "string"}},
        "inputs": {"type": "object"},
        "metrics": {"type": "array", "minItems": 1, "items": _metric},
        "primary_metric": {"type": "string"},
        "formats": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "options": {"type": "object"},
        "splits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "public_fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "seed": {"type": "integer"},
            },
        },
        "submission": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "predictions": {"type": "boolean"},
                "containers": {"type": "boolean"},
                "daily_quota": {"type": "integer", "minimum": 1},
                "max_in_flight": {"type": "integer", "minimum": 1},
                "final_selection": {"type": "integer", "minimum": 0},
                "deadline": {"type": ["string", "null"]},
                "container_limits": {"type": "object"},
            },
        },
        "demo": {
            "type": "object",
            "required": ["generator"],
            "additionalProperties": False,
            "properties": {
                "generator": {"type": "string"},
                "seed": {"type": "integer"},
                "params": {"type": "object"},
            },
        },
        "importer": {"type": "object"},
        "licence": {"type": "string"},
        "citation": {"type": "string"},
        # Optional: a leaderboard over member benchmarks (docs/hosting-a-benchmark.md).
        "suite": _suite,
        # Optional: efficiency columns of container runs shown / ranked on the board.
        "efficiency": _efficiency,
        "reference_results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "metric", "value"],
                "properties": {
                    "source": {"type": "string"},
                    "metric": {"type": "string"},
                    "value": {"type": "number"},
                    "note": {"type": "string"},
                },
            },
        },
    },
}


class CatalogError(ValueError):
    """A benchmark.yaml problem; the message names the file and field."""


@dataclass(frozen=True)
class BenchmarkSpec:
    slug: str
    path: Path
    data: dict[str, Any]
    sha256: str

    @property
    def version(self) -> int:
        return int(re.search(r"-v(\d+)$", self.slug).group(1))

    @property
    def card(self) -> str:
        readme = self.path.parent / "README.md"
        return readme.read_text(encoding="utf-8") if readme.exists() else ""

    def metric_direction(self, key: str) -> str:
        for m in self.data["metrics"]:
            if m["key"] == key:
                return m["direction"]
        raise KeyError(key)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# libyaml's parser when PyYAML was built with it (~10× faster than the pure-Python
# one; every process that loads the catalog parses ~170 files). Same constructor, so
# the same data: tests/catalog/test_catalog.py compares the two on every file.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return data


def load_spec(path: Path, root: Path | None = None, _seen: tuple = ()) -> BenchmarkSpec:
    root = root or path.parent.parent
    data = _read_yaml(path)
    inc = data.get("include")
    if inc:
        target = root / inc
        if target.is_dir():
            target = target / "benchmark.yaml"
        if not target.exists():
            raise CatalogError(f"{path}: field 'include': {inc!r} not found")
        if target in _seen:
            raise CatalogError(f"{path}: field 'include': cycle through {inc!r}")
        base = _read_yaml(target)
        if base.get("include"):
            base = load_spec(target, root, _seen + (path,)).data
        base.pop("slug", None)
        data = _merge(base, {k: v for k, v in data.items() if k != "include"})
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise CatalogError(f"{path}: field '{field}': {err.message}")
    if data["slug"] != path.parent.name:
        raise CatalogError(
            f"{path}: field 'slug': {data['slug']!r} must equal the folder name "
            f"{path.parent.name!r}"
        )
    keys = [m["key"] for m in data["metrics"]]
    if data["primary_metric"] not in keys:
        raise CatalogError(
            f"{path}: field 'primary_metric': {data['primary_metric']!r} is not one of "
            f"the listed metrics {keys}"
        )
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return BenchmarkSpec(slug=data["slug"], path=path, data=data, sha256=digest)


def load_catalog(root: Path = CATALOG_DIR) -> list[BenchmarkSpec]:
    specs = []
    for path in sorted(root.glob("*/benchmark.yaml")):
        if path.parent.name.startswith("_"):
            continue
        specs.append(load_spec(path, root))
    return specs
