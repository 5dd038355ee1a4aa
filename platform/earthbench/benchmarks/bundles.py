"""Benchmark bundles: one ZIP with everything a benchmark needs (no shell, no repo).

Layout (docs/hosting-a-benchmark.md, "Benchmark bundles"): ``benchmark.yaml`` (the
catalog schema), optional ``README.md`` card, ``public/``, the hidden truth
``truth.<ext>`` or ``truth/``, ``baseline.<ext>``, ``sample_submission.<ext>`` and an
optional fixed split assignment ``splits.json``. One top-level folder around all of
it is accepted (a zipped folder).

:func:`bundle_load` extracts the ZIP through the evaluator's ``ZipSource`` (no
``..``, absolute paths, links or bombs), validates the YAML (errors name the field
and its line), reads the truth with the kind's own reader while scoring the
baseline and the sample submission on both splits, and computes or checks the
split assignment. It writes nothing outside its work folder: the database and the
storage area are changed only by ``earthbench.benchmarks.host_services``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import yaml

from benchmarks.catalog import SCHEMA
from benchmarks.splits import assign_splits
from evaluator.errors import ValidationError

MAX_YAML_BYTES = 256 * 1024
YAML_NAME = "benchmark.yaml"
# Catalog fields a bundle does not use: it carries its own data.
NOT_IN_BUNDLES = {
    "include": "a bundle is self-contained; write the merged fields out",
    "demo": "a bundle carries its data; remove the demo generator",
    "importer": "a bundle carries its data; remove the importer",
    "suite": "suites are created by staff from the catalog",
}
TOP_LEVEL = ("benchmark.yaml", "README.md", "public/", "truth.<ext> or truth/",
             "baseline.<ext>", "sample_submission.<ext>", "splits.json")


class BundleError(ValueError):
    """A bundle problem; the message names the file, the field and the line."""


@dataclass
class Bundle:
    root: Path  # the extracted bundle
    data: dict[str, Any]  # the validated benchmark.yaml
    truth: Path
    baseline: Path
    sample: Path
    sample_ids: list[str]
    splits: dict[str, list[str]]
    truth_sha256: str
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.data["slug"]

    @property
    def yaml_path(self) -> Path:
        return self.root / YAML_NAME

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def card(self) -> str:
        readme = self.root / "README.md"
        return readme.read_text(encoding="utf-8") if readme.exists() else ""

    def scoring_key(self) -> dict[str, Any]:
        """What decides the numbers: a change makes a new version."""
        return scoring_key(
            task_kind=self.data["task_kind"],
            metrics=self.data["metrics"],
            primary=self.data["primary_metric"],
            options=self.data.get("options", {}),
            truth_sha256=self.truth_sha256,
            splits=self.splits,
        )


def scoring_key(*, task_kind, metrics, primary, options, truth_sha256, splits) -> dict:
    return {
        "task_kind": task_kind,
        "metrics": [(m["key"], m["direction"]) for m in metrics],
        "primary": primary,
        "options": json.loads(json.dumps(options or {}, sort_keys=True, default=str)),
        "truth_sha256": truth_sha256,
        "splits_sha256": hashlib.sha256(
            json.dumps(splits, sort_keys=True).encode()
        ).hexdigest(),
    }


# ------------------------------------------------------------------ YAML


def yaml_line(text: str, path) -> int | None:
    """1-based line of the node at ``path`` (keys and list indexes) in ``text``."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == str(part):
                    line, node = key.start_mark.line, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _fail(text: str, path, message: str) -> BundleError:
    dotted = ".".join(str(p) for p in path) or "(top level)"
    line = yaml_line(text, path)
    where = f"{YAML_NAME} line {line}" if line else YAML_NAME
    return BundleError(f"{where}: field '{dotted}': {message}")


def parse_spec(content: bytes) -> tuple[dict[str, Any], str]:
    """Validate benchmark.yaml against the catalog schema and the kind's rules."""
    from earthbench.benchmarks.services import _deadline
    from evaluator.registry import get_kind, kind_names

    if len(content) > MAX_YAML_BYTES:
        raise BundleError(f"{YAML_NAME}: larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{YAML_NAME}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{YAML_NAME} line {mark.line + 1}" if mark else YAML_NAME
        problem = getattr(exc, "problem", None) or str(exc)
        raise BundleError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise BundleError(f"{YAML_NAME} line 1: expected a mapping at the top level")
    for key, why in NOT_IN_BUNDLES.items():
        if key in data:
            raise _fail(text, [key], f"not used in a bundle ({why})")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        raise _fail(text, list(err.absolute_path), err.message)
    kind = data["task_kind"]
    if kind not in kind_names():
        raise _fail(text, ["task_kind"], f"{kind!r} is not a task kind ({', '.join(kind_names())})")
    impl = get_kind(kind)
    try:
        impl.resolve_options(data.get("options"))
    except ValidationError as exc:
        raise _fail(text, ["options"], str(exc)) from None
    for i, metric in enumerate(data["metrics"]):
        want = impl.metrics.get(metric["key"])
        if want is None:
            raise _fail(text, ["metrics", i, "key"],
                        f"{metric['key']!r} is not a metric of kind {kind!r} "
                        f"({', '.join(sorted(impl.metrics))})")
        if want != metric["direction"]:
            raise _fail(text, ["metrics", i, "direction"],
                        f"{metric['key']!r} is {want!r} for kind {kind!r}")
    keys = [m["key"] for m in data["metrics"]]
    if data["primary_metric"] not in keys:
        raise _fail(text, ["primary_metric"],
                    f"{data['primary_metric']!r} is not one of the listed metrics {keys}")
    sub = data.get("submission") or {}
    try:
        _deadline(sub.get("deadline"))
    except ValueError as exc:
        raise _fail(text, ["submission", "deadline"], str(exc)) from None
    if "container_limits" in sub:
        from earthbench.benchmarks.host_edits import EditError, check_limits

        try:
            check_limits("container_limits", sub["container_limits"])
        except EditError as exc:
            path = ["submission", *exc.field.split(".")]
            raise _fail(text, path, str(exc).split(": ", 1)[1]) from None
    return data, text


# ------------------------------------------------------------------ ZIP


def _extract(path: Path, display: str, dest: Path) -> Path:
    """Extract through ``ZipSource`` (safe paths, no links, bomb limits)."""
    from evaluator.io import ZipSource

    try:
        src = ZipSource(Path(path), "bundle")
        src.display = display
        names = src.files()
        if not names:
            raise BundleError(f"{display}: the ZIP is empty")
        for name in names:
            target = dest.joinpath(*PurePosixPath(name).parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with src.open(name) as fh, open(target, "wb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
            except OSError as exc:  # e.g. a file and a folder of the same name
                raise BundleError(f"{display}: entry {name!r} cannot be extracted "
                                  f"({exc.strerror or exc})") from None
    except ValidationError as exc:
        message = str(exc)
        if message.startswith(Path(path).name + ":"):
            message = display + message[len(Path(path).name):]
        if not message.startswith(display):
            message = f"{display}: {message}"
        raise BundleError(message) from None
    if not (dest / YAML_NAME).exists():
        tops = [p for p in dest.iterdir()]
        if len(tops) == 1 and tops[0].is_dir() and (tops[0] / YAML_NAME).exists():
            return tops[0]  # a zipped folder
        raise BundleError(f"{display}: no {YAML_NAME} at the top level")
    return dest


def _one(root: Path, stem: str, display: str, *, folder_ok: bool) -> Path:
    found = sorted(
        p for p in root.iterdir()
        if (p.is_file() and p.name.split(".")[0] == stem and "." in p.name)
        or (folder_ok and p.is_dir() and p.name == stem)
    )
    if not found:
        what = f"{stem}.<ext>" + (f" or {stem}/" if folder_ok else "")
        raise BundleError(f"{display}: missing {what}")
    if len(found) > 1:
        raise BundleError(
            f"{display}: more than one {stem}: {', '.join(p.name for p in found)}"
        )
    return found[0]


def _check_layout(root: Path, display: str) -> None:
    allowed_files = {"benchmark.yaml", "README.md", "splits.json"}
    for p in sorted(root.iterdir()):
        stem = p.name.split(".")[0]
        if p.is_dir() and p.name in ("public", "truth"):
            continue
        if p.is_file() and (p.name in allowed_files or stem in ("truth", "baseline",
                                                                "sample_submission")):
            continue
        raise BundleError(
            f"{display}: unexpected entry {p.name!r} at the top level "
            f"(a bundle holds {', '.join(TOP_LEVEL)})"
        )
    public = root / "public"
    if not public.is_dir() or not any(p.is_file() for p in public.rglob("*")):
        raise BundleError(f"{display}: missing public/ (the files participants download)")


def _sha256_tree(path: Path) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(f.relative_to(path.parent).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _read_splits(root: Path, ids: list[str], data: dict) -> tuple[dict, str]:
    path = root / "splits.json"
    if not path.exists():
        cfg = data.get("splits") or {}
        return assign_splits(
            ids, public_fraction=cfg.get("public_fraction", 0.5), seed=cfg.get("seed", 0)
        ), "computed from splits.public_fraction and splits.seed"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"splits.json: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or set(raw) != {"public", "private"}:
        raise BundleError('splits.json: expected {"public": [ids], "private": [ids]}')
    known = set(ids)
    seen: dict[str, str] = {}
    for name in ("public", "private"):
        if not isinstance(raw[name], list) or not raw[name]:
            raise BundleError(f"splits.json: field '{name}': expected a non-empty list of ids")
        for sid in raw[name]:
            if not isinstance(sid, str) or sid not in known:
                raise BundleError(
                    f"splits.json: field '{name}': {sid!r} is not a sample id of the truth"
                )
            if sid in seen:
                raise BundleError(
                    f"splits.json: {sid!r} is in both '{seen[sid]}' and '{name}'"
                    if seen[sid] != name else f"splits.json: {sid!r} is listed twice"
                )
            seen[sid] = name
    missing = sorted(known - set(seen))
    if missing:
        raise BundleError(
            f"splits.json: {len(missing)} sample(s) of the truth are in neither split, "
            f"e.g. {missing[0]!r}"
        )
    return {n: sorted(raw[n]) for n in ("public", "private")}, "fixed by splits.json"


def _evaluate(data: dict, predictions: Path, truth: Path, what: str):
    import evaluator

    try:
        return evaluator.evaluate(data["task_kind"], predictions, truth, data.get("options"))
    except ValidationError as exc:
        raise BundleError(f"{predictions.name}: the {what} was refused: {exc}") from None
    except Exception as exc:  # a kind bug or an unreadable truth: still a clear refusal
        raise BundleError(
            f"{predictions.name}: the {what} could not be scored against "
            f"{truth.name}: {type(exc).__name__}: {exc}"
        ) from None


def _split_scores(data: dict, ev, splits: dict) -> dict:
    from evaluator.api import subset_index

    keys = [m["key"] for m in data["metrics"]]
    out = {}
    for name, ids in splits.items():
        metrics = ev.compute(subset_index(ev, ids))
        missing = [k for k in keys if k not in metrics]
        if missing:
            raise BundleError(
                f"{YAML_NAME}: field 'metrics': {missing[0]!r} is not computed by kind "
                f"{data['task_kind']!r} with these options"
            )
        out[name] = {k: _number(metrics[k]) for k in keys}
    return out


def _number(v):
    try:
        return round(float(v), 6)
    except (TypeError, ValueError):
        return None


def bundle_load(path: Path, *, workdir: Path, display: str = "bundle.zip") -> Bundle:
    """Extract and fully validate a bundle into ``workdir`` (created; the caller
    removes it). Raises :class:`BundleError` naming the file, field and line."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = _extract(path, display, workdir / "bundle")
    _check_layout(root, display)
    data, _ = parse_spec((root / YAML_NAME).read_bytes())
    truth = _one(root, "truth", display, folder_ok=True)
    baseline = _one(root, "baseline", display, folder_ok=False)
    sample = _one(root, "sample_submission", display, folder_ok=False)
    # The kind's own reader reads the truth while it scores the baseline.
    ev = _evaluate(data, baseline, truth, "baseline")
    ids = [str(s) for s in ev.sample_ids]
    if len(ids) < 2:
        raise BundleError(f"{truth.name}: {len(ids)} test sample(s); at least 2 are needed")
    splits, splits_source = _read_splits(root, ids, data)
    baseline_scores = _split_scores(data, ev, splits)
    sample_scores = _split_scores(data, _evaluate(data, sample, truth, "sample submission"),
                                  splits)
    bundle = Bundle(
        root=root, data=data, truth=truth, baseline=baseline, sample=sample,
        sample_ids=ids, splits=splits, truth_sha256=_sha256_tree(truth),
    )
    n_public = sum(1 for p in bundle.public_dir.rglob("*") if p.is_file())
    bundle.report = {
        "slug": data["slug"],
        "title": data["title"],
        "task_kind": data["task_kind"],
        "primary_metric": data["primary_metric"],
        "n_samples": len(ids),
        "splits": {"public": len(splits["public"]), "private": len(splits["private"]),
                   "source": splits_source},
        "public_files": n_public,
        "truth": truth.name,
        "baseline": {"file": baseline.name, "scores": baseline_scores},
        "sample_submission": {"file": sample.name, "scores": sample_scores},
        "card": bool(bundle.card),
    }
    return bundle
