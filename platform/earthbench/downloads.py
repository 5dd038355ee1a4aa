"""The tools participants install from this instance: wheels of the ``earthbench``
CLI (``client/``) and of the scorer (``evaluator/``), served at ``/downloads/``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# (distribution, source folder in the repository, what it gives)
DISTRIBUTIONS = (
    ("earthbench-client", "client", "the earthbench command-line client"),
    ("earthbench-evaluator", "evaluator", "the scorer: python -m evaluator / earthbench-evaluator"),
)
WHEEL = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[A-Za-z0-9_.+!]+)-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+\.whl$")


@dataclass(frozen=True)
class Download:
    distribution: str
    what: str
    path: Path

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def version(self) -> str:
        return WHEEL.match(self.path.name).group("version")

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def downloads_dir() -> Path:
    return Path(settings.EARTHBENCH_DOWNLOADS_DIR)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def available() -> list[Download]:
    """The newest wheel of each distribution present in the downloads folder."""
    folder = downloads_dir()
    found = []
    for dist, _, what in DISTRIBUTIONS:
        wheels = [
            p for p in folder.glob("*.whl")
            if (m := WHEEL.match(p.name)) and _normalise(m.group("name")) == _normalise(dist)
        ] if folder.is_dir() else []
        if wheels:
            newest = max(wheels, key=lambda p: p.stat().st_mtime)
            found.append(Download(dist, what, newest))
    return found


def wheel_path(filename: str) -> Path | None:
    """A served file: a wheel name, directly in the downloads folder."""
    if not WHEEL.match(filename):
        return None
    path = downloads_dir() / filename
    return path if path.is_file() else None


def build_wheels(dest: Path | None = None, *, repo: Path | None = None) -> list[Path]:
    """``pip wheel`` each distribution from a copy of its source folder (nothing is
    written into the repository) into ``dest``; returns the wheels."""
    dest = Path(dest or downloads_dir())
    repo = Path(repo or settings.REPO_DIR)
    dest.mkdir(parents=True, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="earthbench-wheels-") as tmp:
        for dist, folder, _ in DISTRIBUTIONS:
            src = Path(tmp) / folder
            shutil.copytree(repo / folder, src, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info", "build", "dist"))
            out = Path(tmp) / f"{folder}-wheel"
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--quiet", "--wheel-dir", str(out), str(src)],
                check=True, capture_output=True, text=True,
            )
            (wheel,) = out.glob("*.whl")
            for old in dest.glob(f"{_normalise(dist)}-*.whl"):
                old.unlink()
            built.append(Path(shutil.copy2(wheel, dest / wheel.name)))
    return built


def main(argv: list[str] | None = None) -> int:
    """``python -m earthbench.downloads --dest DIR --repo DIR`` (no Django settings
    needed: the production image builds its wheels this way)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    args = parser.parse_args(argv)
    for wheel in build_wheels(args.dest, repo=args.repo):
        print(wheel)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
