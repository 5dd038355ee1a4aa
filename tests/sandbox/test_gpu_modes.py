"""GPU attachment modes (issue 24), on a CPU machine: a fake /dev, /proc and
driver library folder under tmp_path; the last test runs a real container with
the injected (fake, harmless) device nodes to show the engine accepts the
construction and every hardening property holds with a GPU attached."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evaluator.sandbox import Limits, Sandbox, SandboxConfig
from evaluator.sandbox.gpuattach import (
    LIB_DIR,
    GpuUnavailable,
    driver_libraries,
    gpu_container_kwargs,
    gpu_minor,
    gpu_mode,
    hold_gpu,
)

A, B = "GPU-aaaa-1111", "GPU-bbbb-2222"
GPU_KEYS = ("devices", "device_requests", "mounts", "environment")


def fake_host(root: Path, char_devices: bool = False) -> dict:
    dev, proc, lib = root / "dev", root / "proc", root / "lib"
    for d in (dev, lib):
        d.mkdir(parents=True)
    for n in (
        "nvidia0",
        "nvidia1",
        "nvidiactl",
        "nvidia-uvm",
        "nvidia-modeset",
        "null",
    ):
        if char_devices:
            os.mknod(dev / n, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # = /dev/null
        else:
            (dev / n).write_text("")
    for pci, uuid, minor in (("0000:01:00.0", A, 0), ("0000:02:00.0", B, 1)):
        d = proc / "driver" / "nvidia" / "gpus" / pci
        d.mkdir(parents=True)
        (d / "information").write_text(
            f"Model: \t\t NVIDIA H200\nIRQ:   \t\t 42\nGPU UUID: \t {uuid}\n"
            f"Video BIOS: \t ??\nBus Type: \t PCIe\nDevice Minor: \t {minor}\n"
        )
    real = {
        "libcuda.so.580.1": "cuda",
        "libnvidia-ml.so.580.1": "nvml",
        "libnvidia-ptxjitcompiler.so.580.1": "jit",
        "libGLX_nvidia.so.580.1": "graphics: not mounted",
        "libnvidia-glcore.so.580.1": "graphics: not mounted",
        "libcudart.so.12": "CUDA runtime: belongs in the image",
    }
    for name, text in real.items():
        (lib / name).write_text(text)
    for link, target in {
        "libcuda.so.1": "libcuda.so.580.1",
        "libcuda.so": "libcuda.so.1",
        "libnvidia-ml.so.1": "libnvidia-ml.so.580.1",
        "libnvidia-ml.so.dangling": "nowhere",
    }.items():
        (lib / link).symlink_to(target)
    return {"dev_root": dev, "proc_root": proc, "lib_dirs": (lib,)}


def test_minor_found_by_uuid(tmp_path):
    host = fake_host(tmp_path)
    assert gpu_minor(A, host["proc_root"]) == 0 and gpu_minor(B, host["proc_root"]) == 1
    with pytest.raises(GpuUnavailable, match="GPU-cccc is not listed"):
        gpu_minor("GPU-cccc", host["proc_root"])


def test_inject_exactly_the_jobs_nodes_and_the_driver_libraries(tmp_path):
    host = fake_host(tmp_path)
    dev, lib = host["dev_root"], host["lib_dirs"][0]
    kw = gpu_container_kwargs("inject", B, **host)
    assert kw["devices"] == [  # nvidia1 only: not nvidia0, not modeset
        f"{dev}/nvidia1:/dev/nvidia1:rw",
        f"{dev}/nvidiactl:/dev/nvidiactl:rw",
        f"{dev}/nvidia-uvm:/dev/nvidia-uvm:rw",  # nvidia-uvm-tools absent here
    ]
    assert kw["device_requests"] == []
    mounts = {
        m["Target"]: (m["Source"], m["ReadOnly"], m["Type"]) for m in kw["mounts"]
    }
    assert mounts == {
        f"{LIB_DIR}/libcuda.so": (str(lib / "libcuda.so.580.1"), True, "bind"),
        f"{LIB_DIR}/libcuda.so.1": (str(lib / "libcuda.so.580.1"), True, "bind"),
        f"{LIB_DIR}/libcuda.so.580.1": (str(lib / "libcuda.so.580.1"), True, "bind"),
        f"{LIB_DIR}/libnvidia-ml.so.1": (
            str(lib / "libnvidia-ml.so.580.1"),
            True,
            "bind",
        ),
        f"{LIB_DIR}/libnvidia-ml.so.580.1": (
            str(lib / "libnvidia-ml.so.580.1"),
            True,
            "bind",
        ),
        f"{LIB_DIR}/libnvidia-ptxjitcompiler.so.580.1": (
            str(lib / "libnvidia-ptxjitcompiler.so.580.1"),
            True,
            "bind",
        ),
    }
    assert kw["environment"] == {"LD_LIBRARY_PATH": LIB_DIR}


def test_inject_with_uvm_tools_and_refusals(tmp_path):
    host = fake_host(tmp_path)
    (host["dev_root"] / "nvidia-uvm-tools").write_text("")
    kw = gpu_container_kwargs("inject", A, **host)
    assert [d.split(":")[1] for d in kw["devices"]] == [
        "/dev/nvidia0",
        "/dev/nvidiactl",
        "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools",
    ]
    (host["dev_root"] / "nvidiactl").unlink()
    with pytest.raises(GpuUnavailable, match="nvidiactl is missing"):
        gpu_container_kwargs("inject", A, **host)
    (host["dev_root"] / "nvidiactl").write_text("")
    for p in host["lib_dirs"][0].glob("libcuda*"):
        p.unlink()
    with pytest.raises(GpuUnavailable, match="libcuda.so was not found"):
        gpu_container_kwargs("inject", A, **host)


def test_driver_libraries_from_ldconfig(tmp_path):
    lib = fake_host(tmp_path)["lib_dirs"][0]
    text = (
        "12 libs found in cache `/etc/ld.so.cache'\n"
        f"\tlibcuda.so.1 (libc6,x86-64) => {lib}/libcuda.so.1\n"
        f"\tlibcuda.so.1 (libc6) => {lib}/i386-libcuda.so.1\n"
        f"\tlibnvidia-ml.so.1 (libc6,x86-64) => {lib}/libnvidia-ml.so.1\n"
        f"\tlibGLX_nvidia.so.0 (libc6,x86-64) => {lib}/libGLX_nvidia.so.580.1\n"
        f"\tlibcudart.so.12 (libc6,x86-64) => {lib}/libcudart.so.12\n"
    )
    assert driver_libraries(ldconfig_output=text) == {
        "libcuda.so.1": lib / "libcuda.so.580.1",
        "libnvidia-ml.so.1": lib / "libnvidia-ml.so.580.1",
    }


def test_device_request_and_cdi_modes():
    (req,) = gpu_container_kwargs("device-request", A)["device_requests"]
    assert req["DeviceIDs"] == [A] and req["Capabilities"] == [["gpu"]]
    assert req["Count"] in (None, 0)  # never -1 (all GPUs)
    cdi = gpu_container_kwargs("cdi", A)
    (req,) = cdi["device_requests"]
    assert req["Driver"] == "cdi" and req["DeviceIDs"] == [f"nvidia.com/gpu={A}"]
    assert cdi["devices"] == [] and cdi["mounts"] == [] and cdi["environment"] == {}
    with pytest.raises(GpuUnavailable, match="EARTHBENCH_GPU_MODE=none"):
        gpu_container_kwargs("none", A)
    for mode in ("none", "device-request", "inject", "cdi"):
        assert gpu_container_kwargs(mode, None) == {
            "devices": [],
            "device_requests": [],
            "mounts": [],
            "environment": {},
        }
    with pytest.raises(ValueError, match="not a GPU UUID"):
        gpu_container_kwargs("cdi", "all")


class FakeClient:
    def info(self):
        return {"CgroupDriver": "systemd"}


def _sandbox(tmp_path, host=None, **cfg):
    host = host or {}
    return Sandbox(
        SandboxConfig(
            work_root=tmp_path / "jobs",
            gpu_dev_root=host.get("dev_root", Path("/dev")),
            gpu_proc_root=host.get("proc_root", Path("/proc")),
            gpu_lib_dirs=host.get("lib_dirs"),
            **cfg,
        ),
        client=FakeClient(),
    )


def _kwargs(sb, tmp_path, limits, uuid):
    return sb.container_kwargs(
        job_id="j1",
        image_id="sha256:" + "0" * 64,
        task_kind="classification",
        limits=limits,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        gpu_uuid=uuid,
    )


@pytest.mark.parametrize("mode", ["device-request", "inject", "cdi"])
def test_mode_chosen_by_setting_and_hardening_unchanged(tmp_path, monkeypatch, mode):
    host = fake_host(tmp_path)
    monkeypatch.setenv("EARTHBENCH_GPU_MODE", mode)
    assert gpu_mode() == mode
    sb = _sandbox(tmp_path, host)
    assert sb.config.gpu_mode == mode
    plain = _kwargs(sb, tmp_path, Limits(), None)
    gpu = _kwargs(sb, tmp_path, Limits(gpus=1), A)
    same = {k: v for k, v in plain.items() if k not in GPU_KEYS}
    assert {k: v for k, v in gpu.items() if k not in GPU_KEYS} == same
    assert same["network_mode"] == "none" and same["read_only"] is True
    assert same["cap_drop"] == ["ALL"] and same["privileged"] is False
    assert same["security_opt"] == ["no-new-privileges:true"]
    assert same["user"] == "10001:10001" and same["pids_limit"] == Limits().pids
    assert same["mem_limit"] == same["memswap_limit"] == Limits().memory_bytes
    assert gpu["mounts"][:2] == plain["mounts"]  # /input ro, /output as before
    assert all(m["ReadOnly"] for m in gpu["mounts"][2:])
    extra_env = set(gpu["environment"]) - set(plain["environment"])
    assert extra_env == ({"LD_LIBRARY_PATH"} if mode == "inject" else set())
    assert plain["devices"] == [] and plain["device_requests"] == []
    assert bool(gpu["devices"]) == (mode == "inject")
    assert bool(gpu["device_requests"]) == (mode != "inject")


def test_bad_mode_setting_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EARTHBENCH_GPU_MODE", "all")
    with pytest.raises(ValueError, match="EARTHBENCH_GPU_MODE='all'"):
        SandboxConfig(work_root=tmp_path)


def test_no_free_gpu_refused(tmp_path):
    locks = tmp_path / "locks"
    with hold_gpu([A], locks) as first:
        assert first == A
        with pytest.raises(GpuUnavailable, match="no GPU is free: all 1 GPU"):
            with hold_gpu([A], locks):
                pass
        with hold_gpu([A, B], locks) as second:
            assert second == B
    with hold_gpu([A], locks) as again:  # released at the end of the block
        assert again == A
    with pytest.raises(GpuUnavailable, match="no GPU to give"):
        with hold_gpu([], locks):
            pass


def test_run_refused_before_any_container_when_the_gpu_is_held(tmp_path):
    sb = _sandbox(tmp_path)  # FakeClient has no containers API: none is created

    def run(uuid):
        return sb.run(
            job_id="g1",
            image_id="sha256:" + "0" * 64,
            samples=[],
            benchmark="b",
            task_kind="classification",
            limits=Limits(gpus=1),
            gpu_uuid=uuid,
        )

    with hold_gpu([A], tmp_path / "jobs" / ".gpus"):
        with pytest.raises(GpuUnavailable, match="no GPU is free"):
            run(A)
    assert not (tmp_path / "jobs" / "g1").exists()
    sb._nvml = None  # no NVML on this machine: no GPU to pick either
    with pytest.raises(GpuUnavailable, match="no GPU to give"):
        run(None)


@pytest.mark.docker
def test_injected_gpu_nodes_under_full_hardening(engine, busybox_image, tmp_path):
    """Real engine, fake GPU: char devices 1:3 (= /dev/null) named nvidia*."""
    from tests.sandbox.conftest import script_sample

    host = fake_host(tmp_path / "host", char_devices=True)
    sb = Sandbox(
        SandboxConfig(
            work_root=tmp_path / "jobs",
            gpu_mode="inject",
            gpu_dev_root=host["dev_root"],
            gpu_proc_root=host["proc_root"],
            gpu_lib_dirs=host["lib_dirs"],
        ),
        client=engine,
    )
    script = (
        "for f in /dev/nvidia*; do [ -c $f ] && echo @dev=$f >&2; done\n"
        f"ls {LIB_DIR} | sed 's/^/@lib=/' >&2\n"
        f"echo @content=$(cat {LIB_DIR}/libcuda.so.1) >&2\n"
        f"(echo x > {LIB_DIR}/libcuda.so.1) 2>/dev/null; echo @libwrite=$? >&2\n"
        "(echo x > /newfile) 2>/dev/null; echo @rootwrite=$? >&2\n"
        "echo @id=$(id -u):$(id -g) >&2; grep CapEff /proc/self/status | "
        "sed 's/.*:\\s*/@capeff=/' >&2\n"
        "grep NoNewPrivs /proc/self/status | sed 's/.*:\\s*/@nnp=/' >&2\n"
        "echo @ifaces=$(ls /sys/class/net | tr '\\n' ,) >&2\n"
        "echo @ld=$LD_LIBRARY_PATH >&2; echo 1 > /output/p.csv\n"
    )
    limits = Limits(time_s=30, memory_mb=64, cpus=1, pids=32, tmpfs_mb=4, gpus=1)
    r = sb.run(
        job_id="gpu-inject",
        image_id=busybox_image,
        samples=[script_sample(script, tmp_path)],
        benchmark="t",
        task_kind="classification",
        limits=limits,
        gpu_uuid=B,
        expected_outputs=("p.csv",),
    )
    with r:
        lines = [x for x in r.log_tail.splitlines() if x.startswith("@")]
        vals: dict[str, list[str]] = {}
        for line in lines:
            k, _, v = line.partition("=")
            vals.setdefault(k, []).append(v)
        assert r.ok, (r.error, r.log_tail)
        assert vals["@dev"] == ["/dev/nvidia-uvm", "/dev/nvidia1", "/dev/nvidiactl"]
        assert (
            "libcuda.so.1" in vals["@lib"]
            and "libGLX_nvidia.so.580.1" not in vals["@lib"]
        )
        assert vals["@content"] == ["cuda"]
        assert vals["@libwrite"] != ["0"] and vals["@rootwrite"] != ["0"]
        assert vals["@id"] == ["10001:10001"] and vals["@capeff"] == [
            "0000000000000000"
        ]
        assert vals["@nnp"] == ["1"] and vals["@ifaces"] == ["lo,"]
        assert vals["@ld"] == [LIB_DIR]


def test_library_folders_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("EARTHBENCH_GPU_LIB_DIRS", raising=False)
    assert SandboxConfig(work_root=tmp_path).gpu_lib_dirs is None  # ldconfig -p
    monkeypatch.setenv("EARTHBENCH_GPU_LIB_DIRS", "/usr/local/nvidia/lib64:/opt/x")
    assert SandboxConfig(work_root=tmp_path).gpu_lib_dirs == (
        Path("/usr/local/nvidia/lib64"),
        Path("/opt/x"),
    )


def test_minor_from_nvml_when_proc_lacks_the_driver_files(tmp_path):
    class FakeNvml:
        def nvmlDeviceGetHandleByUUID(self, uuid):
            if uuid != A.encode():
                raise LookupError("NVML_ERROR_NOT_FOUND")
            return "h"

        def nvmlDeviceGetMinorNumber(self, handle):
            return 3

    empty = tmp_path / "proc"
    assert gpu_minor(A, empty, FakeNvml()) == 3
    with pytest.raises(GpuUnavailable, match="NVML does not know it"):
        gpu_minor(B, empty, FakeNvml())
    with pytest.raises(GpuUnavailable, match="is not listed"):
        gpu_minor(A, empty)
