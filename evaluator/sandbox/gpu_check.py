"""GPU smoke check for a machine with an NVIDIA GPU (self-contained script).

    python -m evaluator.sandbox.gpu_check      # or: python evaluator/sandbox/gpu_check.py

1. lists the GPUs NVML sees (index, UUID, name, memory);
2. allocates 256 MiB on the first GPU — with torch when it has CUDA, else
   straight through the driver API (``libcuda.so.1`` via ctypes, so a CPU-only
   torch does not matter) — and reads the peak memory in use via NVML
   (sampled above the starting use); it must be at least 90% of the allocation;
3. builds the docker DeviceRequest pinning the first GPU by UUID.
Exit 0 when all three work; prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def main() -> int:
    report: dict = {}
    try:
        import pynvml
    except ImportError:
        print(json.dumps({"ok": False, "error": "pip install nvidia-ml-py"}))
        return 1
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        print(json.dumps({"ok": False, "error": f"NVML unavailable: {exc}"}))
        return 1
    report["driver"] = _text(pynvml.nvmlSystemGetDriverVersion())
    gpus = []
    for i in range(pynvml.nvmlDeviceGetCount()):
        h = pynvml.nvmlDeviceGetHandleByIndex(i)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h)
        gpus.append(
            {
                "index": i,
                "uuid": _text(pynvml.nvmlDeviceGetUUID(h)),
                "name": _text(pynvml.nvmlDeviceGetName(h)),
                "memory_total": int(mem.total),
                "memory_used": int(mem.used),
            }
        )
    report["gpus"] = gpus
    if not gpus:
        report.update(ok=False, error="NVML sees no GPU")
        print(json.dumps(report, indent=1))
        return 1
    uuid = gpus[0]["uuid"]
    report["peak"] = _peak_during_allocation(pynvml, uuid)
    try:
        from docker.types import DeviceRequest

        req = DeviceRequest(device_ids=[uuid], capabilities=[["gpu"]])
        report["device_request"] = dict(req)
    except ImportError:
        report["device_request"] = "docker SDK missing (pip install docker)"
    peak = report["peak"]
    report["ok"] = bool(
        peak.get("nvml_peak_bytes")
        and peak["nvml_peak_bytes"] >= 0.9 * peak["allocated_bytes"]
        and isinstance(report["device_request"], dict)
    )
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


class _NvmlPeak:
    """Samples device memory in use (above the start) in a thread."""

    def __init__(self, pynvml, uuid: str):
        self._nvml = pynvml
        self._h = pynvml.nvmlDeviceGetHandleByUUID(uuid.encode())
        self._base = self._used()
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._h).used)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._used() - self._base)
            time.sleep(0.01)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


N_BYTES = 256 * 2**20


def _peak_during_allocation(pynvml, uuid: str) -> dict:
    try:
        import torch

        if torch.cuda.is_available():
            return _peak_torch(pynvml, uuid, torch)
    except ImportError:
        pass
    return _peak_driver_api(pynvml, uuid)


def _peak_torch(pynvml, uuid: str, torch) -> dict:
    torch.zeros(1, device="cuda:0")  # the context exists before the baseline
    torch.cuda.synchronize()
    with _NvmlPeak(pynvml, uuid) as p:
        x = torch.empty(N_BYTES, dtype=torch.uint8, device="cuda:0").fill_(1)
        torch.cuda.synchronize()
        time.sleep(0.3)
        del x
        torch.cuda.synchronize()
    return {
        "via": "torch",
        "allocated_bytes": N_BYTES,
        "nvml_peak_bytes": p.peak,
        "torch_max_allocated_bytes": int(torch.cuda.max_memory_allocated()),
    }


def _peak_driver_api(pynvml, uuid: str) -> dict:
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return {"error": f"no CUDA driver library: {exc}"}

    def check(rc: int, what: str) -> None:
        if rc != 0:
            raise RuntimeError(f"{what} failed with CUDA error {rc}")

    ctx, dev, ptr = ctypes.c_void_p(), ctypes.c_int(), ctypes.c_uint64()
    try:
        check(cuda.cuInit(0), "cuInit")
        check(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
        check(cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev), "cuCtxCreate")
        time.sleep(0.2)  # the context's own memory is part of the baseline
        with _NvmlPeak(pynvml, uuid) as p:
            check(
                cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(N_BYTES)),
                "cuMemAlloc",
            )
            check(
                cuda.cuMemsetD8_v2(ptr, ctypes.c_ubyte(1), ctypes.c_size_t(N_BYTES)),
                "cuMemsetD8",
            )
            check(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
            time.sleep(0.3)
            check(cuda.cuMemFree_v2(ptr), "cuMemFree")
    except RuntimeError as exc:
        return {"error": str(exc)}
    finally:
        if ctx.value:
            cuda.cuCtxDestroy_v2(ctx)
    return {
        "via": "cuda driver API",
        "allocated_bytes": N_BYTES,
        "nvml_peak_bytes": p.peak,
    }


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


if __name__ == "__main__":
    sys.exit(main())
