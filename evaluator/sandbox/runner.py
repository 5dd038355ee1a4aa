"""Run a participant's image on staged inputs, hardened per SANDBOX.md.

The container gets: no network, a read-only root, read-only ``/input``, a
writable empty ``/output``, a size-capped ``/tmp``, no capabilities,
no-new-privileges, the default seccomp profile, a forced non-root uid, pids /
memory (no swap) / CPU / file-size / open-file limits, at most one GPU pinned by
UUID, and an environment of exactly the contract's variables. It is created and
started, never ``run`` (which would pull a missing image), and always removed.

The worker calling this holds the docker socket but never executes participant
code itself: it only talks to the engine and reads files the container wrote.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluator.errors import ValidationError
from evaluator.sandbox import gpu as gpumod
from evaluator.sandbox.engine import docker_client
from evaluator.sandbox.gpuattach import (
    gpu_container_kwargs,
    gpu_lib_dirs,
    gpu_mode,
    hold_gpu,
)
from evaluator.sandbox.limits import MIB, Limits
from evaluator.sandbox.logs import TailBuffer
from evaluator.sandbox.measure import CGROUP_ROOT, Sampler, remove_cgroup_parent
from evaluator.sandbox.outputfs import mount_output, output_mode, unmount_output
from evaluator.sandbox.staging import (
    InputSample,
    check_output,
    make_output_dir,
    read_meta,
    stage_input,
)

LABEL_JOB = "earthbench.job"
LABEL_DEADLINE = "earthbench.deadline"
LABEL_WORKDIR = "earthbench.workdir"
CGROUP_PARENT_ROOT = "earthbench"
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SandboxConfig:
    """Host-side settings (not per benchmark)."""

    work_root: Path  # staged job folders live here (must be a host path)
    uid: int = 10001
    gid: int = 10001
    runtime: str | None = None  # e.g. "runsc" for gVisor, where installed
    cgroup_parent: bool | None = (
        None  # None: automatic (cgroupfs driver, local cgroups)
    )
    sample_interval_s: float = 0.1
    deadline_grace_s: float = 120.0  # the reaper waits this long past the time limit
    log_tail_lines: int = 200
    # "tmpfs": /output is a size/inode-capped tmpfs (caps hold during the run);
    # "bind": a plain folder, checked after exit (see outputfs.py).
    output_mode: str = field(default_factory=output_mode)
    # How the job's GPU is attached (EARTHBENCH_GPU_MODE; see gpuattach.py) and
    # where "inject" looks for device nodes, /proc/driver/nvidia and libraries.
    gpu_mode: str = field(default_factory=gpu_mode)
    gpu_dev_root: Path = Path("/dev")
    gpu_proc_root: Path = Path("/proc")
    gpu_lib_dirs: tuple[Path, ...] | None = field(default_factory=gpu_lib_dirs)


@dataclass
class RunResult:
    """What happened; ``error`` is the one line a submitter sees (None = ok)."""

    job_id: str
    image_id: str
    job_dir: Path
    output_dir: Path
    n_samples: int
    exit_code: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    pids_limit_hit: bool = False
    log_tail: str = ""  # the last stderr lines: what the submitter is shown
    stdout_tail: str = ""
    log_bytes: int = 0  # bytes the engine kept (json-file rotates at 10 MB)
    log_truncated: bool = False
    wall_s: float = 0.0  # measured by the worker, create-to-exit
    run_s: float | None = None  # the engine's StartedAt..FinishedAt
    peak_memory_bytes: int | None = None
    peak_gpu_memory_bytes: int | None = None
    peak_pids: int | None = None
    output_files: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_ms_per_sample(self) -> float | None:
        """Container run time / samples (includes start-up and model loading)."""
        run = self.run_s if self.run_s is not None else self.wall_s
        return 1000.0 * run / self.n_samples if self.n_samples else None

    def cleanup(self) -> None:
        unmount_output(self.output_dir)
        shutil.rmtree(self.job_dir, ignore_errors=True)

    def __enter__(self) -> RunResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _timestamp(value: str | None) -> float | None:
    # The engine writes nanoseconds; datetime takes at most microseconds.
    if not value or value.startswith("0001-"):
        return None
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz).timestamp()


class Sandbox:
    """Runs jobs on one engine. ``client`` is a docker SDK ``DockerClient``."""

    def __init__(
        self,
        config: SandboxConfig,
        client: Any | None = None,
        client_factory: Callable[..., Any] = docker_client,
        nvml: Any | None = None,
    ):
        self.config = config
        self.client = client or client_factory()
        self._factory = client_factory
        self._nvml = nvml
        config.work_root.mkdir(parents=True, exist_ok=True)

    # -- settings -------------------------------------------------------------
    def _use_cgroup_parent(self) -> bool:
        if self.config.cgroup_parent is not None:
            return self.config.cgroup_parent
        try:
            driver = self.client.info().get("CgroupDriver")
        except Exception:
            return False
        import os

        # Only when we can read (and later remove) the per-job parent ourselves.
        return driver == "cgroupfs" and os.access(CGROUP_ROOT, os.W_OK)

    def container_kwargs(
        self,
        *,
        job_id: str,
        image_id: str,
        task_kind: str,
        limits: Limits,
        input_dir: Path,
        output_dir: Path,
        gpu_uuid: str | None = None,
        cgroup_parent: str | None = None,
        deadline: float | None = None,
        job_dir: Path | None = None,
    ) -> dict[str, Any]:
        """The exact ``containers.create`` arguments (public for review and tests)."""
        from docker.types import LogConfig, Mount, Ulimit

        uid, gid = self.config.uid, self.config.gid
        fsize = limits.fsize_mb * MIB
        if limits.gpus and not gpu_uuid:
            raise ValueError("limits.gpus=1 needs a gpu_uuid (one job per GPU)")
        gpu = gpu_container_kwargs(
            self.config.gpu_mode,
            gpu_uuid if limits.gpus else None,
            dev_root=self.config.gpu_dev_root,
            proc_root=self.config.gpu_proc_root,
            lib_dirs=self.config.gpu_lib_dirs,
            nvml=self._nvml,
        )
        kwargs: dict[str, Any] = dict(
            image=image_id,
            command=None,  # the image's ENTRYPOINT/CMD, no arguments
            user=f"{uid}:{gid}",
            working_dir="/",
            environment={
                "INPUT_DIR": "/input",
                "OUTPUT_DIR": "/output",
                "TIME_LIMIT_S": str(int(limits.time_s)),
                "MAX_MEMORY_MB": str(limits.memory_mb),
                "EARTHBENCH_TASK_KIND": task_kind,
                "HOME": "/tmp",  # the forced uid has no home; / is read-only
                **gpu["environment"],  # inject: LD_LIBRARY_PATH of the driver libs
            },
            use_config_proxy=False,  # never copy the worker's proxy settings in
            network_mode="none",
            read_only=True,
            privileged=False,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],  # default seccomp stays on
            init=True,  # reaps zombies, forwards the kill
            ipc_mode="private",
            pids_limit=limits.pids,
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,  # equal: no swap
            nano_cpus=limits.nano_cpus,
            shm_size=limits.shm_mb * MIB,
            tmpfs={
                "/tmp": f"rw,size={limits.tmpfs_mb * MIB},uid={uid},gid={gid},"
                "mode=0700,nosuid,nodev"
            },
            mounts=[
                Mount("/input", str(input_dir), type="bind", read_only=True),
                Mount("/output", str(output_dir), type="bind", read_only=False),
                *gpu["mounts"],  # inject: driver libraries, read-only
            ],
            ulimits=[
                Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="fsize", soft=fsize, hard=fsize),
            ],
            devices=gpu["devices"],  # inject: only this job's GPU nodes
            device_requests=gpu["device_requests"],
            labels={
                LABEL_JOB: job_id,
                LABEL_DEADLINE: str(int(deadline or 0)),
                LABEL_WORKDIR: str(job_dir or ""),
            },
            log_config=LogConfig(
                type="json-file", config={"max-size": "10m", "max-file": "1"}
            ),
            hostname="sandbox",
            stdin_open=False,
            tty=False,
        )
        if cgroup_parent:
            kwargs["cgroup_parent"] = cgroup_parent
        if self.config.runtime:
            kwargs["runtime"] = self.config.runtime
        return kwargs

    # -- the run ---------------------------------------------------------------
    def run(
        self,
        *,
        job_id: str,
        image_id: str,
        samples: Sequence[InputSample],
        benchmark: str,
        task_kind: str,
        limits: Limits,
        expected_outputs: Iterable[str] = ("predictions.csv",),
        extra: Mapping[str, Any] | None = None,
        gpu_uuid: str | None = None,
    ) -> RunResult:
        """Stage, run, measure, clean up, validate ``/output``.

        The returned result owns the job folder (its ``output_dir`` is what the
        scorer reads); call ``cleanup()`` or use it as a context manager.
        """
        if not _JOB_ID.match(job_id):
            raise ValueError(f"job id {job_id!r} must match {_JOB_ID.pattern}")
        job_dir = self.config.work_root / job_id
        job_dir.mkdir(parents=True, exist_ok=False)
        result = RunResult(
            job_id=job_id,
            image_id=image_id,
            job_dir=job_dir,
            output_dir=job_dir / "output",
            n_samples=len(samples),
        )
        stack = ExitStack()
        try:
            input_dir = stage_input(
                job_dir / "input",
                samples,
                benchmark=benchmark,
                task_kind=task_kind,
                extra=extra,
            )
            make_output_dir(result.output_dir, self.config.uid, self.config.gid)
            held = stack.enter_context(self._gpu(limits, gpu_uuid))
            if output_mode(self.config.output_mode) == "tmpfs":
                mount_output(
                    result.output_dir,
                    max_mb=limits.output_max_mb,
                    max_files=limits.output_max_files,
                    uid=self.config.uid,
                    gid=self.config.gid,
                )
            self._execute(result, input_dir, task_kind, limits, held)
        except BaseException:
            result.cleanup()
            raise
        finally:
            stack.close()  # the GPU is free again
            shutil.rmtree(job_dir / "input", ignore_errors=True)
        self._judge(result, limits, expected_outputs)
        return result

    def _gpu(self, limits: Limits, gpu_uuid: str | None):
        """Hold the job's GPU (or any free one NVML lists) for the run."""
        if not limits.gpus:
            return nullcontext(None)  # no GPU: nothing to hold
        if gpu_uuid:
            candidates = [gpu_uuid]
        else:
            nvml = self._nvml or gpumod.load_nvml()
            candidates = [g.uuid for g in gpumod.list_gpus(nvml)]
        return hold_gpu(candidates, self.config.work_root / ".gpus")

    def _execute(
        self,
        result: RunResult,
        input_dir: Path,
        task_kind: str,
        limits: Limits,
        gpu_uuid: str | None,
    ) -> None:
        from docker.errors import ImageNotFound, NotFound

        try:
            self.client.images.get(result.image_id)
        except ImageNotFound:
            raise ValidationError(
                f"image {result.image_id} is not loaded on this engine"
            ) from None
        parent = (
            f"/{CGROUP_PARENT_ROOT}/{result.job_id}"
            if self._use_cgroup_parent()
            else None
        )
        deadline = time.time() + limits.time_s + self.config.deadline_grace_s
        if limits.gpus and self._nvml is None:
            self._nvml = gpumod.load_nvml()  # minor numbers (inject), peak memory
        kwargs = self.container_kwargs(
            job_id=result.job_id,
            image_id=result.image_id,
            task_kind=task_kind,
            limits=limits,
            input_dir=input_dir,
            output_dir=result.output_dir,
            gpu_uuid=gpu_uuid,
            cgroup_parent=parent,
            deadline=deadline,
            job_dir=result.job_dir,
        )
        gpu_sampler = None
        nvml = self._nvml
        if limits.gpus and nvml is not None:
            gpu_sampler = gpumod.GpuMemorySampler(nvml, gpu_uuid or "")
        container = None
        try:
            container = self.client.containers.create(**kwargs)
            t0 = time.monotonic()
            container.start()
            sampler = Sampler(
                container, parent, self.config.sample_interval_s, gpu_sampler
            ).start()
            result.exit_code, result.timed_out = self._wait(container, limits.time_s)
            result.wall_s = time.monotonic() - t0
            usage = sampler.stop()
            container.reload()
            state = container.attrs.get("State", {})
            result.oom_killed = bool(state.get("OOMKilled")) or usage.oom_events > 0
            started = _timestamp(state.get("StartedAt"))
            finished = _timestamp(state.get("FinishedAt"))
            if started and finished and finished >= started:
                result.run_s = finished - started
            result.peak_memory_bytes = usage.peak_memory_bytes
            result.peak_gpu_memory_bytes = usage.peak_gpu_memory_bytes
            result.peak_pids = usage.peak_pids
            result.pids_limit_hit = usage.pids_limit_hit
            self._collect_logs(container, result, limits)
        finally:
            if container is not None:
                try:
                    container.remove(force=True, v=True)
                except NotFound:
                    pass
            if parent:
                remove_cgroup_parent(parent)

    def _collect_logs(self, container: Any, result: RunResult, limits: Limits) -> None:
        """Stream the engine's log (json-file, 10 MB) through capped tail buffers.

        stderr and stdout are read separately: the engine timestamps lines when
        it copies them, so in a merged view a stdout flood can land after the
        stderr lines that explain a failure. Read after exit, not followed: a
        follow stream closes when the container stops and can drop the end.
        """
        cap = limits.log_tail_kb * 1024
        tails = {}
        for stream in ("stderr", "stdout"):
            buf = TailBuffer(cap)
            try:
                for chunk in container.logs(
                    stdout=stream == "stdout",
                    stderr=stream == "stderr",
                    stream=True,
                    follow=False,
                ):
                    buf.write(chunk)
            except Exception:  # losing logs must not lose the run's verdict
                pass
            tails[stream] = buf
        result.log_tail = tails["stderr"].tail(self.config.log_tail_lines)
        result.stdout_tail = tails["stdout"].tail(self.config.log_tail_lines)
        result.log_bytes = sum(b.total for b in tails.values())
        result.log_truncated = any(b.truncated for b in tails.values())

    @staticmethod
    def _wait(container: Any, time_s: float) -> tuple[int | None, bool]:
        """(exit code, timed out). On timeout the container is killed."""
        import requests

        try:
            status = container.wait(timeout=time_s)
            return int(status.get("StatusCode", -1)), False
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            pass
        try:
            container.kill()
        except Exception:  # it may have exited in between
            pass
        try:
            status = container.wait(timeout=30)
            return int(status.get("StatusCode", -1)), True
        except Exception:
            return None, True

    def _judge(
        self, result: RunResult, limits: Limits, expected: Iterable[str]
    ) -> None:
        judge(result, limits, expected)


def judge(result: RunResult, limits: Limits, expected: Iterable[str] = ()) -> None:
    """Set ``result.error``: the first reason the run cannot be scored (time,
    memory, exit code, process limit, then the ``/output`` checks). Every
    sandbox backend judges a finished run by these rules."""
    if result.timed_out:
        result.error = f"timed out: stopped at the time limit of {limits.time_s:g} s"
    elif result.oom_killed:
        result.error = (
            f"out of memory: a process was killed at the memory limit of "
            f"{limits.memory_mb} MiB"
        )
    elif result.exit_code != 0:
        result.error = f"the container exited with code {result.exit_code}" + (
            _signal_hint(result.exit_code)
        )
    elif result.pids_limit_hit:
        result.error = f"the process limit of {limits.pids} was reached"
    if result.error:
        return
    try:
        result.output_files = check_output(
            result.output_dir,
            expected=expected,
            max_files=limits.output_max_files,
            max_bytes=limits.output_max_mb * MIB,
        )
        result.meta = read_meta(result.output_dir)
    except ValidationError as exc:
        result.error = exc.message


def _signal_hint(code: int | None) -> str:
    hints = {
        137: "killed (SIGKILL)",
        139: "segmentation fault",
        153: "file size limit exceeded",
    }
    return f" ({hints[code]})" if code in hints else ""


from evaluator.sandbox.reaper import reap_expired  # noqa: E402  (re-export)

__all__ = ["RunResult", "Sandbox", "SandboxConfig", "judge", "reap_expired"]
