"""Sandbox backends: what runs a model container, chosen by ``EARTHBENCH_SANDBOX_BACKEND``.

- ``docker`` (the default; production): ``evaluator.sandbox`` on the Docker
  engine, every hardening rule of docs/sandbox.md.
- ``fake``: no engine. An "image" is a tar archive holding ``fake-model.json``
  (what the run does) and optionally ``output/...`` (the files it writes to
  ``/output``). The inputs are staged exactly as for Docker and the run is
  judged by the same rules (``evaluator.sandbox.judge``), so the whole
  container path (quota, compute budget, failures, scoring) is tested without
  Docker. Refused by the production settings.

``fake-model.json`` (every key optional)::

    {"run_s": 12.5,            # seconds the run takes; past the limit: timed out
     "exit_code": 0, "oom": false, "pids_limit_hit": false,
     "peak_memory_mb": 64, "log": "last stderr lines",
     "crash": false,           # the engine fails (an internal error)
     "predict": {"file": "predictions.csv", "header": "id,label", "value": "Forest"}}

``predict`` writes one ``<id>,<value>`` row per staged test sample (the
deterministic rule); ``output/`` members are copied as they are. A benchmark
whose runs need a GPU (``container_limits.gpus``) gets ``GpuUnavailable``
unless the worker owns one (``EARTHBENCH_WORKER_GPU_UUID``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

import evaluator

BACKENDS = ("docker", "fake")
FAKE_MANIFEST = "fake-model.json"
FAKE_MAX_BYTES = 64 * 1024 * 1024  # what a fake image may hold in all


def backend_class():
    """The backend class ``EARTHBENCH_SANDBOX_BACKEND`` names."""
    name = getattr(settings, "EARTHBENCH_SANDBOX_BACKEND", "docker")
    if name not in BACKENDS:
        raise ImproperlyConfigured(
            f"EARTHBENCH_SANDBOX_BACKEND={name!r}: expected one of {', '.join(BACKENDS)}"
        )
    return {"docker": DockerBackend, "fake": FakeBackend}[name]


def get_backend():
    """The configured backend, for this worker's ``EARTHBENCH_SANDBOX_DIR``."""
    return backend_class()(Path(settings.EARTHBENCH_SANDBOX_DIR))


class DockerBackend:
    """``evaluator.sandbox`` on the Docker engine (looked up at call time)."""

    name = "docker"

    def __init__(self, work_root: Path):
        from evaluator import sandbox

        self.work_root = work_root
        self.client = sandbox.docker_client()
        self.sandbox = sandbox.Sandbox(sandbox.SandboxConfig(work_root=work_root), client=self.client)

    @contextlib.contextmanager
    def image(self, path: Path, job_id: str) -> Iterator:
        """Load the tarball without tags under a lease, pinned by image id; it is
        removed again when the block ends (or by the reaper if this worker dies)."""
        from evaluator import sandbox

        with sandbox.loaded_image(self.client, path, sandbox.ImageLeases(self.work_root), job_id) as info:
            yield info

    def run(self, **kwargs):
        return self.sandbox.run(expected_outputs=(), **kwargs)

    @staticmethod
    def reap(work_root: Path) -> list[str]:
        from evaluator.sandbox import docker_client, engine_problem, reap_expired

        if engine_problem():
            return []
        return reap_expired(docker_client(), work_root=work_root)


@dataclass
class FakeImage:
    image_id: str
    spec: dict
    outputs: dict[str, bytes] = field(default_factory=dict)


class FakeBackend:
    """Runs nothing: follows the image's ``fake-model.json`` (module docstring)."""

    name = "fake"

    def __init__(self, work_root: Path):
        self.work_root = work_root
        self._images: dict[str, FakeImage] = {}

    @contextlib.contextmanager
    def image(self, path: Path, job_id: str) -> Iterator[FakeImage]:
        image = read_fake_image(Path(path))
        self._images[image.image_id] = image
        try:
            yield image
        finally:
            self._images.pop(image.image_id, None)

    def run(self, *, job_id, image_id, samples, benchmark, task_kind, limits, gpu_uuid=None):
        from evaluator.sandbox import GpuUnavailable, RunResult, judge, stage_input

        image = self._images[image_id]
        spec = image.spec
        if spec.get("crash"):
            raise RuntimeError("fake engine: the container could not be created")
        if limits.gpus and not gpu_uuid:  # as on an engine host without a GPU
            raise GpuUnavailable("no GPU is free: this machine has no GPU to give")
        job_dir = self.work_root / job_id
        job_dir.mkdir(parents=True, exist_ok=False)
        result = RunResult(job_id=job_id, image_id=image_id, job_dir=job_dir,
                           output_dir=job_dir / "output", n_samples=len(samples))
        try:
            stage_input(job_dir / "input", samples, benchmark=benchmark, task_kind=task_kind)
            result.output_dir.mkdir()
            self._write_outputs(image, [s.id for s in samples], result.output_dir)
            run_s = float(spec.get("run_s", 1.0))
            result.timed_out = run_s > limits.time_s
            result.run_s = result.wall_s = min(run_s, float(limits.time_s))
            result.exit_code = 137 if result.timed_out else int(spec.get("exit_code", 0))
            result.oom_killed = bool(spec.get("oom"))
            result.pids_limit_hit = bool(spec.get("pids_limit_hit"))
            result.peak_memory_bytes = int(float(spec.get("peak_memory_mb", 64)) * 1024 * 1024)
            result.log_tail = str(spec.get("log", ""))
            judge(result, limits)
        except BaseException:
            result.cleanup()
            raise
        finally:
            shutil.rmtree(job_dir / "input", ignore_errors=True)
        return result

    @staticmethod
    def _write_outputs(image: FakeImage, ids: list[str], out: Path) -> None:
        for rel, data in image.outputs.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        rule = image.spec.get("predict")
        if rule:
            rows = [str(rule.get("header", "id,label"))] + [f"{sid},{rule['value']}" for sid in ids]
            (out / str(rule.get("file", "predictions.csv"))).write_text("\n".join(rows) + "\n")

    @staticmethod
    def reap(work_root: Path) -> list[str]:
        return []  # nothing runs, nothing is left behind


def read_fake_image(path: Path) -> FakeImage:
    """Parse a fake image tarball; ``ValidationError`` naming the problem."""

    def refuse(why: str):
        return evaluator.ValidationError(f"{path.name}: {why}")

    try:
        tar = tarfile.open(path)
    except (tarfile.TarError, OSError):
        raise refuse("not a tar archive (fake sandbox image)") from None
    spec, outputs, total = None, {}, 0
    with tar:
        for member in tar:
            total += member.size
            if total > FAKE_MAX_BYTES:
                raise refuse(f"over {FAKE_MAX_BYTES} bytes (fake sandbox image)")
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                continue
            data = tar.extractfile(member).read()
            if name.as_posix() == FAKE_MANIFEST:
                try:
                    spec = json.loads(data)
                except ValueError as exc:
                    raise refuse(f"{FAKE_MANIFEST} is not valid JSON ({exc})") from None
            elif name.parts[0] == "output" and len(name.parts) > 1:
                outputs[PurePosixPath(*name.parts[1:]).as_posix()] = data
    if not isinstance(spec, dict):
        raise refuse(f"no {FAKE_MANIFEST} object: not a fake sandbox image")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return FakeImage(image_id=f"sha256:{digest}", spec=spec, outputs=outputs)


def write_fake_image(path: Path, spec: dict, outputs: dict[str, bytes] | None = None) -> Path:
    """Build a fake image tarball (tests, ``EARTHBENCH_SANDBOX_BACKEND=fake``)."""
    import io

    with tarfile.open(path, "w") as tar:
        for name, data in [(FAKE_MANIFEST, json.dumps(spec).encode())] + [
            (f"output/{k}", v) for k, v in (outputs or {}).items()
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
