"""Engine-free units: staging, output checks, log tail, GPU plumbing, arguments."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from evaluator.errors import ValidationError
from evaluator.sandbox import gpu
from evaluator.sandbox.limits import Limits
from evaluator.sandbox.logs import TailBuffer
from evaluator.sandbox.runner import Sandbox, SandboxConfig, _timestamp
from evaluator.sandbox.staging import InputSample, check_output, read_meta, stage_input


# -- staging ------------------------------------------------------------------
def test_stage_input_writes_manifest_and_copies(tmp_path):
    src = tmp_path / "a.npy"
    src.write_bytes(b"abc")
    dest = stage_input(
        tmp_path / "in",
        [
            InputSample("0001", {"img/0001.npy": src}, {"bands": 13}),
            InputSample("0002", {"q/0002.npy": src}, prompt="How many ships?"),
        ],
        benchmark="eurosat-classification-v1",
        task_kind="classification",
        extra={"classes": ["Forest"]},
    )
    m = json.loads((dest / "manifest.json").read_text())
    assert m["format"] == "earthbench-input/1" and m["task_kind"] == "classification"
    assert m["samples"][0] == {
        "id": "0001",
        "files": ["img/0001.npy"],
        "modality": {"bands": 13},
    }
    assert m["samples"][1]["prompt"] == "How many ships?"
    assert m["extra"] == {"classes": ["Forest"]}
    copy = dest / "img" / "0001.npy"
    assert copy.read_bytes() == b"abc" and os.stat(copy).st_ino != os.stat(src).st_ino
    assert oct(copy.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("rel", ["../x", "/etc/x", "manifest.json", ""])
def test_stage_input_rejects_unsafe_paths(tmp_path, rel):
    src = tmp_path / "a"
    src.write_bytes(b"")
    with pytest.raises(ValueError, match="unsafe input path"):
        stage_input(
            tmp_path / "in",
            [InputSample("1", {rel: src})],
            benchmark="b",
            task_kind="k",
        )


def test_stage_input_rejects_duplicate_ids(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"")
    with pytest.raises(ValueError, match="duplicate sample id '1'"):
        stage_input(
            tmp_path / "in",
            [InputSample("1", {"a": src}), InputSample("1", {"b": src})],
            benchmark="b",
            task_kind="k",
        )


# -- output checks --------------------------------------------------------------
def test_check_output_accepts_nested_regular_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "predictions.csv").write_text("id,label\n")
    (tmp_path / "sub" / "x.png").write_bytes(b"12345")
    files = check_output(tmp_path, expected=["predictions.csv"])
    assert files == {"predictions.csv": 9, "sub/x.png": 5}


def test_check_output_refusals(tmp_path):
    (tmp_path / "predictions.csv").write_text("id,label\n")
    os.symlink("/etc/passwd", tmp_path / "leak")
    with pytest.raises(ValidationError, match="output: leak is a symbolic link"):
        check_output(tmp_path)
    os.unlink(tmp_path / "leak")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValidationError, match="output: pipe is not a regular file"):
        check_output(tmp_path)
    os.unlink(tmp_path / "pipe")
    (tmp_path / "big.bin").write_bytes(b"x" * 100)
    with pytest.raises(ValidationError, match="more than 50 bytes"):
        check_output(tmp_path, max_bytes=50)
    with pytest.raises(ValidationError, match="more than 1 files"):
        check_output(tmp_path, max_files=1)
    with pytest.raises(
        ValidationError, match="missing masks.zip; the container wrote big.bin"
    ):
        check_output(tmp_path, expected=["masks.zip"])


def test_check_output_needs_more_than_meta(tmp_path):
    (tmp_path / "meta.json").write_text("{}")
    with pytest.raises(ValidationError, match="wrote no predictions"):
        check_output(tmp_path)


def test_read_meta(tmp_path):
    assert read_meta(tmp_path) is None
    (tmp_path / "meta.json").write_text('{"model": "m", "parameters": 3}')
    assert read_meta(tmp_path) == {"model": "m", "parameters": 3}
    (tmp_path / "meta.json").write_text("{nope")
    with pytest.raises(ValidationError, match="meta.json is not valid JSON"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"x": "y" * 70000}))
    with pytest.raises(ValidationError, match="over 65536 bytes"):
        read_meta(tmp_path)
    os.unlink(tmp_path / "meta.json")
    os.symlink("/etc/hostname", tmp_path / "meta.json")
    with pytest.raises(OSError):  # O_NOFOLLOW: a link is never followed
        read_meta(tmp_path)


# -- logs -----------------------------------------------------------------------
def test_tail_buffer_keeps_only_the_tail():
    buf = TailBuffer(cap=100)
    for i in range(1000):
        buf.write(f"line {i}\n".encode())
    tail = buf.tail()
    assert len(tail.encode()) <= 100 and tail.splitlines()[-1] == "line 999"
    assert buf.truncated and buf.total == sum(len(f"line {i}\n") for i in range(1000))
    assert not tail.splitlines()[0].startswith("ine")  # no half line at the top
    one = TailBuffer(cap=10)
    one.write(b"x" * 50 + b"\nlast\n")
    assert one.tail() == "last"
    small = TailBuffer(cap=100)
    small.write(b"a\nb\n")
    assert small.tail() == "a\nb" and not small.truncated
    assert small.tail(max_lines=1) == "b"


def test_engine_timestamps_with_nanoseconds():
    assert _timestamp("2026-11-27T10:23:14.435392167Z") == pytest.approx(
        _timestamp("2026-11-27T10:23:14Z") + 0.435392, abs=1e-6
    )
    assert _timestamp("0001-01-01T00:00:00Z") is None and _timestamp("") is None


# -- GPU --------------------------------------------------------------------------
class FakeNvml:
    """Just enough of pynvml: two GPUs; memory in use can be raised by a test."""

    def __init__(self):
        self.used = {b"GPU-aaaa": 100, b"GPU-bbbb": 200}

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return [b"GPU-aaaa", b"GPU-bbbb"][i]

    def nvmlDeviceGetHandleByUUID(self, uuid):
        assert isinstance(uuid, bytes)
        return uuid

    def nvmlDeviceGetUUID(self, h):
        return h

    def nvmlDeviceGetName(self, h):
        return b"NVIDIA H100 80GB HBM3" if h == b"GPU-aaaa" else "NVIDIA A100"

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(total=80 * 2**30, used=self.used[h], free=0)


def test_list_gpus_with_fake_nvml():
    gpus = gpu.list_gpus(FakeNvml())
    assert [(g.index, g.uuid, g.name) for g in gpus] == [
        (0, "GPU-aaaa", "NVIDIA H100 80GB HBM3"),
        (1, "GPU-bbbb", "NVIDIA A100"),
    ]
    assert gpus[0].memory_total == 80 * 2**30
    assert gpu.list_gpus(None) == []


def test_gpu_memory_sampler_reports_peak_above_baseline():
    nvml = FakeNvml()
    s = gpu.GpuMemorySampler(nvml, "GPU-bbbb")
    nvml.used[b"GPU-bbbb"] = 1200
    assert s.sample() == 1000
    nvml.used[b"GPU-bbbb"] = 700
    assert s.sample() == 1000  # the peak stays
    nvml.used[b"GPU-aaaa"] = 10**9  # another GPU's use is not this job's
    assert s.sample() == 1000


def test_device_request_pins_exactly_one_gpu_by_uuid():
    from docker.types import DeviceRequest

    (req,) = gpu.device_requests("GPU-aaaa")
    assert isinstance(req, DeviceRequest)
    assert req["DeviceIDs"] == ["GPU-aaaa"] and req["Capabilities"] == [["gpu"]]
    assert req["Count"] in (None, 0)  # never -1 (= all GPUs)
    assert gpu.device_requests(None) == []
    with pytest.raises(ValueError, match="not a GPU UUID"):
        gpu.device_requests("0")


class FakeClient:
    """A docker client stand-in for argument construction only."""

    def info(self):
        return {"CgroupDriver": "systemd"}


def _kwargs(tmp_path: Path, **kw):
    sb = Sandbox(
        SandboxConfig(work_root=tmp_path / "jobs", runtime=kw.pop("runtime", None)),
        client=FakeClient(),
    )
    return sb.container_kwargs(
        job_id="j1",
        image_id="sha256:" + "0" * 64,
        task_kind="classification",
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        **kw,
    )


def test_container_kwargs_with_gpu_and_runtime(tmp_path):
    kw = _kwargs(tmp_path, limits=Limits(gpus=1), gpu_uuid="GPU-bbbb", runtime="runsc")
    (req,) = kw["device_requests"]
    assert req["DeviceIDs"] == ["GPU-bbbb"]
    assert kw["runtime"] == "runsc"
    assert (
        kw["network_mode"] == "none" and kw["read_only"] and kw["cap_drop"] == ["ALL"]
    )
    assert kw["use_config_proxy"] is False and kw["command"] is None
    assert kw["labels"]["earthbench.job"] == "j1"


def test_container_kwargs_gpu_rules(tmp_path):
    with pytest.raises(ValueError, match="needs a gpu_uuid"):
        _kwargs(tmp_path, limits=Limits(gpus=1))
    # A UUID without a GPU limit gives no device at all.
    assert (
        _kwargs(tmp_path, limits=Limits(gpus=0), gpu_uuid="GPU-aaaa")["device_requests"]
        == []
    )
    with pytest.raises(ValueError, match="gpus must be 0 or 1"):
        Limits(gpus=2)


def test_bad_job_ids_refused(tmp_path):
    sb = Sandbox(SandboxConfig(work_root=tmp_path / "jobs"), client=FakeClient())
    with pytest.raises(ValueError, match="job id"):
        sb.run(
            job_id="../x",
            image_id="sha256:0",
            samples=[],
            benchmark="b",
            task_kind="k",
            limits=Limits(),
        )


def test_docker_dir_is_not_a_package():
    # `import docker` must find the SDK, never the repository's docker/ folder.
    import docker

    repo = Path(__file__).resolve().parents[2]
    assert not (repo / "docker" / "__init__.py").exists()
    assert hasattr(docker, "from_env") and "site-packages" in docker.__file__


def test_output_mode_setting(monkeypatch):
    from evaluator.sandbox.outputfs import output_mode, tmpfs_options

    monkeypatch.delenv("EARTHBENCH_SANDBOX_OUTPUT", raising=False)
    assert output_mode() == "tmpfs"
    monkeypatch.setenv("EARTHBENCH_SANDBOX_OUTPUT", "bind")
    assert output_mode() == "bind"
    monkeypatch.setenv("EARTHBENCH_SANDBOX_OUTPUT", "disk")
    with pytest.raises(ValueError, match="EARTHBENCH_SANDBOX_OUTPUT='disk'"):
        output_mode()
    assert tmpfs_options(max_mb=2, max_files=10, uid=7, gid=8) == (
        "size=2097152,nr_inodes=26,mode=0755,uid=7,gid=8,nosuid,nodev,noexec"
    )
