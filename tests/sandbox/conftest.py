"""Fixtures for the sandbox suite: a real Docker engine, test images, a Sandbox.

Tests marked ``docker`` run real containers. Without an engine they are
skipped with a loud reason — or fail when ``EARTHBENCH_REQUIRE_DOCKER=1``
(CI sets it, so a missing engine can never pass silently).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.sandbox import (
    InputSample,
    Limits,
    Sandbox,
    SandboxConfig,
    docker_client,
    engine_problem,
    load_image,
)
from tests.sandbox.imagebuild import busybox_layer, have_busybox, make_image_tar

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "docker" / "baseline" / "build_offline.sh"
CACHE = Path(os.environ.get("EARTHBENCH_IMAGE_CACHE", "/var/cache/earthbench"))


def _unavailable(reason: str) -> None:
    msg = f"!!! SANDBOX TESTS NOT RUN: {reason} !!!"
    print(msg, file=sys.stderr)
    if os.environ.get("EARTHBENCH_REQUIRE_DOCKER") == "1":
        pytest.fail(msg + " (EARTHBENCH_REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def engine():
    """A docker SDK client to a live engine (skips loudly without one)."""
    problem = engine_problem()
    if problem:
        _unavailable(problem + " — run .ci/docker.sh")
    client = docker_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_image(engine, tmp_path_factory) -> str:
    """Image id of a static-busybox image whose CMD runs ``/input/job.sh``.

    Each test stages its own script as an input file, so one image serves all
    the hostile-behaviour proofs.
    """
    if not have_busybox():
        _unavailable("/bin/busybox missing — apt-get install -y busybox-static")
    tar = make_image_tar(
        tmp_path_factory.mktemp("img") / "busybox.tar", [busybox_layer()]
    )
    return load_image(engine, tar).image_id


@pytest.fixture(scope="session")
def baseline_tar() -> Path:
    """The eurosat baseline as a ``docker save`` tarball (built once, cached)."""
    problem = engine_problem()
    if problem:
        _unavailable(problem)
    tar = CACHE / "baseline-eurosat.tar"
    # Parallel workers (`make test`) each build it once: one at a time, so none
    # reads a half-written tarball.
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=900
        )
    if proc.returncode != 0 or not tar.exists():
        _unavailable(f"baseline image build failed: {proc.stderr.strip()[-500:]}")
    return tar


@pytest.fixture
def sandbox(engine, tmp_path) -> Sandbox:
    return Sandbox(SandboxConfig(work_root=tmp_path / "jobs"), client=engine)


def script_sample(script: str, tmp_path: Path, sample_id: str = "job") -> InputSample:
    """A one-file sample carrying the shell script the busybox image runs."""
    src = tmp_path / f"{sample_id}.sh"
    src.write_text("set -u\n" + script)
    return InputSample(id=sample_id, files={"job.sh": src})


def run_script(
    sandbox: Sandbox,
    image: str,
    script: str,
    tmp_path: Path,
    *,
    job_id: str = "job-1",
    limits: Limits | None = None,
    expected: tuple[str, ...] = (),
):
    """Run ``script`` in the busybox image; returns the RunResult (caller cleans up)."""
    return sandbox.run(
        job_id=job_id,
        image_id=image,
        samples=[script_sample(script, tmp_path)],
        benchmark="sandbox-test",
        task_kind="classification",
        limits=limits or Limits(time_s=30, memory_mb=128, cpus=1, pids=64, tmpfs_mb=16),
        expected_outputs=expected,
    )
