"""The GPU sandbox check's driver (bench/gpu_sandbox_check.sh runs it).

Builds a test image from a minimal root filesystem (the compiled workload, the
C libraries it links, nothing else), loads it through the platform's own import
(validation, leases), and runs it with ``evaluator.sandbox`` under the full
hardening. Cases:

- ``gpu``: the job's GPU attached (``EARTHBENCH_GPU_MODE``, default inject);
  records the devices/UUID the container saw, NVML peak GPU memory (measured by
  the platform from outside), latency, peak RAM, the score of its predictions;
- ``gpu_oom``: allocates until the GPU refuses; the exit path;
- ``gpu_time``: a kernel that never ends; killed at the time limit;
- ``no_gpu``: the same image with no GPU: it must see no device at all.

Without a GPU only ``no_gpu`` runs and the result says ``gpu: "absent"``.
Writes one JSON document (``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from evaluator.api import score  # noqa: E402
from evaluator.sandbox import (  # noqa: E402
    ImageLeases,
    InputSample,
    Limits,
    Sandbox,
    SandboxConfig,
    docker_client,
    loaded_image,
)
from evaluator.sandbox.gpu import list_gpus, load_nvml  # noqa: E402
from tests.sandbox.imagebuild import base_config, layer_tar, make_image_tar  # noqa: E402


def rootfs_layer(binary: Path) -> bytes:
    """The workload and the shared libraries ``ldd`` lists (plus glibc stubs
    that libcuda links), at their host paths."""
    files = {"bin/workload": binary.read_bytes()}
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    libs = [p for p in out.split() if p.startswith("/")]
    libdir = Path(next(p for p in libs if "libc.so" in p)).parent
    for extra in ("libdl.so.2", "libpthread.so.0", "librt.so.1", "libm.so.6"):
        if (libdir / extra).exists():
            libs.append(str(libdir / extra))
    for lib in libs:
        files[lib.lstrip("/")] = Path(lib).resolve().read_bytes()
    files["etc/passwd"] = (
        b"root:x:0:0::/:/bin/false\nmodel:x:10001:10001::/tmp:/bin/false\n"
    )
    return layer_tar(files)


def facts(log: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in log.splitlines():
        if line.startswith("@"):
            k, _, v = line[1:].partition("=")
            if ":" in k and not v:  # "@CapEff:\t0000..."
                k, _, v = line[1:].partition(":")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def samples(tmp: Path, n: int, size: int) -> tuple[list[InputSample], Path]:
    rng = np.random.default_rng(7)
    out, rows = [], []
    for i in range(n):
        a = rng.standard_normal((size, size)).astype(np.float32)
        p = tmp / f"s{i:03d}.f32"
        a.tofile(p)
        c = (a.astype(np.float64) @ a.astype(np.float64)).sum(axis=1)
        rows.append((f"s{i:03d}", str(int(np.argmax(c)) % 10)))
        out.append(InputSample(id=f"s{i:03d}", files={f"test/s{i:03d}.f32": p}))
    truth = tmp / "truth.csv"
    with open(truth, "w", newline="") as fh:
        csv.writer(fh).writerows([("id", "label"), *rows])
    return out, truth


def summary(r, seen: dict) -> dict:
    return {
        "ok": r.ok,
        "error": r.error,
        "exit_code": r.exit_code,
        "timed_out": r.timed_out,
        "oom_killed": r.oom_killed,
        "run_s": r.run_s,
        "wall_s": round(r.wall_s, 3),
        "latency_ms_per_sample": r.latency_ms_per_sample,
        "peak_memory_bytes": r.peak_memory_bytes,
        "peak_gpu_memory_bytes": r.peak_gpu_memory_bytes,
        "seen": seen,
        "log_tail": r.log_tail[-1500:],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "data").mkdir(parents=True)
    client = docker_client()
    nvml = load_nvml()
    gpus = list_gpus(nvml)
    result: dict = {
        "engine": client.version().get("Version"),
        "gpus_nvml": [g.__dict__ for g in gpus],
        "gpu": "present" if gpus else "absent",
    }
    layer = rootfs_layer(args.binary)
    cmd = {"Cmd": ["/bin/workload"], "Env": ["PATH=/bin"]}
    tars = {
        mode: make_image_tar(
            work / f"{mode}.tar",
            [layer],
            config=base_config(**{**cmd, "Env": ["PATH=/bin", f"EB_MODE={mode}"]}),
        )
        for mode in ("run", "oom", "spin")
    }
    result["image_bytes"] = tars["run"].stat().st_size
    data, truth = samples(work / "data", args.samples, args.size)
    sandbox = Sandbox(SandboxConfig(work_root=work / "jobs"), client=client, nvml=nvml)
    leases = ImageLeases(work / "jobs")
    result["gpu_mode"] = sandbox.config.gpu_mode
    before = {i.id for i in client.images.list(all=True)}
    base = dict(time_s=120, memory_mb=4096, cpus=2, pids=128, tmpfs_mb=64)

    def run(job, mode, limits, uuid=None, expect=("predictions.csv",)):
        with loaded_image(client, tars[mode], leases, job) as info:
            t0 = time.monotonic()
            r = sandbox.run(
                job_id=job,
                image_id=info.image_id,
                samples=data,
                benchmark="gpu-check",
                task_kind="classification",
                limits=limits,
                expected_outputs=expect,
                gpu_uuid=uuid,
            )
            with r:
                out = summary(r, facts(r.log_tail))
                out["worker_s"] = round(time.monotonic() - t0, 3)
                if r.ok:
                    out["metrics"] = score(
                        "classification", r.output_dir / "predictions.csv", truth
                    )
                return out

    result["no_gpu"] = run("no-gpu", "run", Limits(**base, gpus=0))
    if gpus:
        uuid = gpus[0].uuid
        result["gpu_run"] = run("gpu", "run", Limits(**base, gpus=1), uuid)
        result["gpu_run"]["uuid_expected"] = uuid
        result["gpu_oom"] = run("gpu-oom", "oom", Limits(**base, gpus=1), uuid)
        result["gpu_time"] = run(
            "gpu-time", "spin", Limits(**{**base, "time_s": 15}, gpus=1), uuid
        )
    result["images_left_behind"] = sorted(
        {i.id for i in client.images.list(all=True)} - before
    )
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps(result, indent=1, default=str))
    return 0 if gpus else 3


if __name__ == "__main__":
    sys.exit(main())
