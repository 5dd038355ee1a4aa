"""GPUs: listing via NVML, the pinned device request, peak memory sampling.

``nvidia-ml-py`` (module ``pynvml``) is optional: without it, or without a GPU,
:func:`list_gpus` returns ``[]`` and GPU memory is reported as None. Every
function takes the NVML module as an argument so tests inject a fake one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GpuInfo:
    index: int
    uuid: str
    name: str
    memory_total: int  # bytes


def load_nvml() -> Any | None:
    """The initialised ``pynvml`` module, or None when unavailable."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound, driver missing, ...
        return None
    return pynvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def list_gpus(nvml: Any | None) -> list[GpuInfo]:
    """Every GPU NVML sees, by index, with its UUID."""
    if nvml is None:
        return []
    out = []
    for i in range(nvml.nvmlDeviceGetCount()):
        h = nvml.nvmlDeviceGetHandleByIndex(i)
        out.append(
            GpuInfo(
                index=i,
                uuid=_text(nvml.nvmlDeviceGetUUID(h)),
                name=_text(nvml.nvmlDeviceGetName(h)),
                memory_total=int(nvml.nvmlDeviceGetMemoryInfo(h).total),
            )
        )
    return out


def device_requests(gpu_uuid: str | None) -> list[Any]:
    """The device request for exactly one GPU, by UUID; ``[]`` for none.

    Never ``count=-1`` (all GPUs): one job per GPU.
    """
    if not gpu_uuid:
        return []
    if not gpu_uuid.startswith(("GPU-", "MIG-")):
        raise ValueError(f"not a GPU UUID: {gpu_uuid!r}")
    from docker.types import DeviceRequest

    return [DeviceRequest(device_ids=[gpu_uuid], capabilities=[["gpu"]])]


class GpuMemorySampler:
    """Peak device memory in use during a run, above what was in use at start.

    One job per GPU, so device-level usage is the job's (process-level NVML
    accounting sees host PIDs, which the container's PID namespace hides).
    """

    def __init__(self, nvml: Any, gpu_uuid: str):
        self._nvml = nvml
        self._handle = nvml.nvmlDeviceGetHandleByUUID(
            gpu_uuid.encode() if isinstance(gpu_uuid, str) else gpu_uuid
        )
        self._base = self._used()
        self.peak = 0

    def _used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)

    def sample(self) -> int:
        self.peak = max(self.peak, self._used() - self._base)
        return self.peak
