"""The 14 proofs of SANDBOX.md, each a real container run on the local engine."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from evaluator.api import score
from evaluator.errors import ValidationError
from evaluator.sandbox import (
    InputSample,
    Limits,
    load_image,
    reap_expired,
    validate_image_tar,
)
from evaluator.sandbox.runner import LABEL_JOB
from tests.sandbox.conftest import REPO, run_script
from tests.sandbox.imagebuild import base_config, layer_tar, make_image_tar

pytestmark = pytest.mark.docker


def read(result, name: str) -> str:
    return (result.output_dir / name).read_text()


def job_containers(engine, job_id: str) -> list:
    return engine.containers.list(all=True, filters={"label": f"{LABEL_JOB}={job_id}"})


# 1 ---------------------------------------------------------------------------
def test_runs_as_non_root_without_capabilities(
    sandbox, busybox_image, tmp_path, engine
):
    script = """
id -u > /output/uid; id -g > /output/gid
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status > /output/status
"""
    with run_script(sandbox, busybox_image, script, tmp_path) as r:
        assert r.ok, r.error
        assert read(r, "uid").strip() == "10001" and read(r, "gid").strip() == "10001"
        status = dict(line.split(":\t") for line in read(r, "status").splitlines())
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[cap], 16) == 0, (cap, status[cap])
        assert status["NoNewPrivs"].strip() == "1"
        assert status["Seccomp"].strip() == "2"  # the default profile is in force
    assert job_containers(engine, "job-1") == []


def test_hardening_flags_reach_the_engine(sandbox, busybox_image, tmp_path, engine):
    # The HostConfig the engine stores for the exact arguments the runner uses.
    limits = Limits(time_s=9, memory_mb=100, cpus=0.5, pids=33, tmpfs_mb=7, fsize_mb=5)
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    kwargs = sandbox.container_kwargs(
        job_id="flags",
        image_id=busybox_image,
        task_kind="classification",
        limits=limits,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
    )
    c = engine.containers.create(**kwargs)
    try:
        hc = c.attrs["HostConfig"]
        assert hc["NetworkMode"] == "none" and hc["ReadonlyRootfs"] is True
        assert hc["CapDrop"] == ["ALL"] and not hc["Privileged"]
        assert hc["SecurityOpt"] == ["no-new-privileges:true"]
        assert hc["PidsLimit"] == 33 and hc["Init"] is True
        assert hc["Memory"] == hc["MemorySwap"] == 100 * 2**20
        assert hc["NanoCpus"] == 500_000_000 and hc["IpcMode"] == "private"
        assert "size=7340032" in hc["Tmpfs"]["/tmp"]
        ulimits = {u["Name"]: u["Hard"] for u in hc["Ulimits"]}
        assert ulimits == {"nofile": 4096, "core": 0, "fsize": 5 * 2**20}
        assert not hc.get("DeviceRequests")
        mounts = {m["Destination"]: m["RW"] for m in c.attrs["Mounts"]}
        assert mounts == {"/input": False, "/output": True}
        assert c.attrs["Config"]["User"] == "10001:10001"
    finally:
        c.remove(force=True)


# 2 ---------------------------------------------------------------------------
def test_no_network_only_loopback(sandbox, busybox_image, tmp_path):
    # Targets: loopback and unroutable addresses only, never a real host.
    script = """
ls /sys/class/net > /output/ifaces
nc -w 2 127.0.0.1 9 </dev/null 2>/dev/null; echo $? > /output/lo
nc -w 2 10.255.255.1 80 </dev/null 2>/output/unroutable_err; echo $? > /output/unroutable
wget -q -T 2 -O /dev/null http://192.0.2.1/ 2>/output/wget_err; echo $? > /output/wget
"""
    with run_script(sandbox, busybox_image, script, tmp_path) as r:
        assert r.ok, r.error
        assert read(r, "ifaces").split() == ["lo"]
        for name in ("lo", "unroutable", "wget"):
            assert read(r, name).strip() != "0", name
        assert "unreachable" in read(r, "unroutable_err").lower()


# 3 ---------------------------------------------------------------------------
def test_root_filesystem_and_input_are_read_only(sandbox, busybox_image, tmp_path):
    script = """
touch /rootfile 2>/output/root_err; echo $? > /output/root
touch /input/new 2>/output/input_err; echo $? > /output/input
echo x >> /input/job.sh 2>/dev/null; echo $? > /output/input_append
mkdir /etc/x 2>/dev/null; echo $? > /output/etc
echo ok > /tmp/t && cat /tmp/t > /output/tmp_ok
"""
    with run_script(sandbox, busybox_image, script, tmp_path) as r:
        assert r.ok, r.error
        for name in ("root", "input", "input_append", "etc"):
            assert read(r, name).strip() != "0", name
        assert "read-only" in read(r, "root_err").lower()
        assert "read-only" in read(r, "input_err").lower()
        assert read(r, "tmp_ok").strip() == "ok"
    assert "x" not in (tmp_path / "job.sh").read_text().splitlines()[-1:]


# 4 ---------------------------------------------------------------------------
def test_ground_truth_and_other_jobs_are_invisible(sandbox, busybox_image, tmp_path):
    canary = "EBCANARY_5d1e9c"
    hidden = tmp_path / "hidden" / "truth.csv"  # the benchmark's ground truth
    hidden.parent.mkdir()
    hidden.write_text(f"id,label\n0001,{canary}\n")
    other = sandbox.config.work_root / "other-job" / "input"  # a concurrent job
    other.mkdir(parents=True)
    (other / "secret.npy").write_text(canary)
    # The script assembles the canary from halves, so its own text never matches.
    script = f"""
A={canary[:6]}; B={canary[6:]}
find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -print | wc -l > /output/nfiles
find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f \\
    -exec grep -ls "$A$B" {{}} + > /output/hits
grep -ls "$A$B" /proc/1/environ /proc/self/environ /proc/mounts >> /output/hits
grep -c docker.sock /proc/mounts > /output/sock
ls /var/run/docker.sock /run/docker.sock 2>/dev/null | wc -l > /output/sockfiles
grep -c -e {hidden.parent} -e other-job /proc/mounts > /output/paths
exit 0
"""
    with run_script(sandbox, busybox_image, script, tmp_path) as r:
        assert r.exit_code == 0, r.log_tail
        assert int(read(r, "nfiles")) >= 5  # the search did cover the filesystem
        assert read(r, "hits").strip() == ""
        assert read(r, "sock").strip() == "0"
        assert read(r, "sockfiles").strip() == "0"
        assert read(r, "paths").strip() == "0"


# 5 ---------------------------------------------------------------------------
def test_tmp_fill_enospc_and_fsize_stops_big_file(sandbox, busybox_image, tmp_path):
    script = """
i=0
while [ $i -lt 50 ] && dd if=/dev/zero of=/tmp/f$i bs=1M count=4 2>/output/tmp_err; do i=$((i+1)); done
echo $i > /output/tmp_files
dd if=/dev/zero of=/output/big bs=1M count=64 2>/dev/null
"""
    limits = Limits(time_s=30, memory_mb=256, cpus=1, pids=64, tmpfs_mb=16, fsize_mb=8)
    with run_script(sandbox, busybox_image, script, tmp_path, limits=limits) as r:
        assert "No space left on device" in read(r, "tmp_err")
        assert int(read(r, "tmp_files")) <= 4
        assert r.exit_code == 128 + signal.SIGXFSZ  # dd killed at the file size cap
        assert (r.output_dir / "big").stat().st_size <= 8 * 2**20
        assert not r.ok and "file size limit" in r.error


# 6 ---------------------------------------------------------------------------
def _host_pids() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def test_fork_bomb_contained_by_pids_limit(sandbox, busybox_image, tmp_path):
    before = _host_pids()
    script = "bomb() { bomb | bomb & }; bomb; sleep 1000\n"
    limits = Limits(time_s=4, memory_mb=256, cpus=1, pids=40, tmpfs_mb=16)
    with run_script(sandbox, busybox_image, script, tmp_path, limits=limits) as r:
        assert not r.ok
        assert r.pids_limit_hit and r.peak_pids is not None and r.peak_pids <= 40
        assert r.timed_out or r.exit_code != 0
    # The host still forks, and the bomb left no process behind.
    assert subprocess.run(["true"]).returncode == 0
    assert _host_pids() < before + 20


# 7 ---------------------------------------------------------------------------
def test_memory_hog_reported_oom_even_with_exit_0(sandbox, busybox_image, tmp_path):
    # A child is OOM-killed; the main process hides it and exits 0. The child marks
    # itself the OOM killer's first choice (raising one's own score needs no
    # privilege): otherwise the kernel may pick the main shell, which then cannot
    # exit 0 (seen once in a loaded run: exit 137).
    script = """
sh -c 'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 300000000 /dev/zero | tr "\\0" a); echo survived' > /output/child 2>&1
echo $? > /output/child_rc
echo id,label > /output/predictions.csv
exit 0
"""
    limits = Limits(time_s=30, memory_mb=64, cpus=1, pids=64, tmpfs_mb=16)
    with run_script(sandbox, busybox_image, script, tmp_path, limits=limits) as r:
        assert r.exit_code == 0
        assert read(r, "child_rc").strip() == "137"
        assert r.oom_killed and not r.ok and r.error.startswith("out of memory")
        assert r.peak_memory_bytes is not None
        assert 48 * 2**20 <= r.peak_memory_bytes <= 64 * 2**20 + 2**20


# 8 ---------------------------------------------------------------------------
def test_sleep_infinity_killed_at_deadline(sandbox, busybox_image, tmp_path, engine):
    limits = Limits(time_s=2, memory_mb=64, cpus=1, pids=16, tmpfs_mb=4)
    t0 = time.monotonic()
    with run_script(
        sandbox, busybox_image, "sleep infinity\n", tmp_path, limits=limits
    ) as r:
        assert r.timed_out and not r.ok and "time limit of 2 s" in r.error
        assert 2 <= r.wall_s < 10
    assert time.monotonic() - t0 < 20
    assert job_containers(engine, "job-1") == []


# 9 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case,expect",
    [
        ("volume", "VOLUME"),
        ("root", "non-root USER"),
        ("multi", "expected exactly 1"),
        ("traversal", "'..' path"),
        ("oversize", "size limit"),
        ("gzip_layer", r"inflates \(gzip\) to more than"),
        ("ld_preload", "LD_PRELOAD"),
    ],
)
def test_images_rejected_before_the_engine_sees_them(engine, tmp_path, case, expect):
    from evaluator.sandbox.limits import ImageCaps

    layer = layer_tar({"bin/tool": b"\x7fELF"})
    caps = ImageCaps()
    kw: dict = {}
    if case == "volume":
        kw["config"] = base_config(Volumes={"/data": {}})
    elif case == "root":
        kw["config"] = base_config(User="0:0")
    elif case == "multi":
        kw["images"] = 2
    elif case == "traversal":
        kw["extra"] = [("../../etc/cron.d/x", b"* * * * * root sh", {})]
    elif case == "oversize":
        caps = ImageCaps(max_total_bytes=4096)
        layer = layer_tar({"bin/big": b"\0" * 8192})
    elif case == "gzip_layer":  # 64 KiB on the wire, 64 MiB once the engine inflates it
        import gzip

        caps = ImageCaps(max_total_bytes=8 << 20)
        layer = gzip.compress(layer_tar({"bin/big": b"\0" * (64 << 20)}), 9)
        assert len(layer) < 256 << 10
    elif case == "ld_preload":
        kw["config"] = base_config(Env=["PATH=/bin", "LD_PRELOAD=/lib/evil.so"])
    tar = make_image_tar(
        tmp_path / f"{case}.tar", [layer], repo_tags=[f"evil/{case}:1"], **kw
    )
    before = {i.id for i in engine.images.list(all=True)}
    with pytest.raises(ValidationError, match=expect) as exc:
        load_image(engine, tar, caps)
    assert f"{case}.tar" in str(exc.value)
    assert {i.id for i in engine.images.list(all=True)} == before
    assert not engine.images.list(name=f"evil/{case}")


def test_valid_upload_pinned_by_digest_and_never_tagged(engine, tmp_path):
    # A tag in the upload must not re-point a tag on the engine.
    layer = layer_tar({"bin/tool": str(time.time()).encode()})
    tar = make_image_tar(
        tmp_path / "ok.tar", [layer], repo_tags=["earthbench/hijack:latest"]
    )
    info = load_image(engine, tar)
    try:
        assert info.image_id == validate_image_tar(tar).image_id
        assert info.image_id.startswith("sha256:") and len(info.image_id) == 71
        assert engine.images.get(info.image_id).tags == []
        assert not engine.images.list(name="earthbench/hijack")
    finally:
        engine.images.remove(info.image_id, force=True)


# 10 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "script,limits_kw,expect",
    [
        ("ln -s /etc/passwd /output/predictions.csv\n", {}, "symbolic link"),
        (
            "mkdir /output/d; ln -s / /output/d/root; echo a > /output/predictions.csv\n",
            {},
            "symbolic link",
        ),
        ("mkfifo /output/predictions.csv\n", {}, "not a regular file"),
        (
            "i=0; while [ $i -lt 30 ]; do echo > /output/p$i.csv; i=$((i+1)); done\n",
            {"output_max_files": 20},
            "more than 20 files",
        ),
        ("echo hi > /output/other.txt\n", {}, "missing predictions.csv"),
        (
            "echo id,label > /output/predictions.csv; echo '[1]' > /output/meta.json\n",
            {},
            "meta.json must hold a JSON object",
        ),
    ],
)
def test_bad_output_refused_with_clear_message(
    sandbox, busybox_image, tmp_path, script, limits_kw, expect
):
    limits = Limits(time_s=30, memory_mb=64, cpus=1, pids=32, tmpfs_mb=4, **limits_kw)
    with run_script(
        sandbox,
        busybox_image,
        script,
        tmp_path,
        limits=limits,
        expected=("predictions.csv",),
    ) as r:
        assert r.exit_code == 0 and not r.ok
        assert expect in r.error and r.error.startswith("output:")


def test_invalid_predictions_refused_by_the_scorer(sandbox, busybox_image, tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("id,label\n0001,Forest\n0002,River\n")
    script = "printf 'id,lbl\\n0001,Forest\\n' > /output/predictions.csv\n"
    with run_script(
        sandbox, busybox_image, script, tmp_path, expected=("predictions.csv",)
    ) as r:
        assert r.ok, r.error  # the runner passes it on; the scorer judges content
        with pytest.raises(ValidationError, match=r"predictions.csv line 1: header"):
            score("classification", r.output_dir / "predictions.csv", truth)


# 11 --------------------------------------------------------------------------
def test_log_flood_is_capped(sandbox, busybox_image, tmp_path):
    script = """
yes 'flood flood flood flood flood flood flood flood flood flood' | head -c 12000000
yes 'error error error error error error error error error error' | head -c 12000000 >&2
echo; echo LAST-LINE >&2
echo id,label > /output/predictions.csv
"""
    limits = Limits(time_s=60, memory_mb=64, cpus=1, pids=32, tmpfs_mb=4, log_tail_kb=8)
    with run_script(sandbox, busybox_image, script, tmp_path, limits=limits) as r:
        assert r.ok, r.error
        assert len(r.log_tail.encode()) <= 8 * 1024
        assert len(r.stdout_tail.encode()) <= 8 * 1024
        assert r.log_truncated and r.log_bytes > 100_000  # what the engine kept
        # What explains a failure (the last stderr line) survives the flood.
        assert r.log_tail.splitlines()[-1] == "LAST-LINE"
        assert "error error" in r.log_tail


# 12 --------------------------------------------------------------------------
def test_no_secrets_in_container_environment(
    sandbox, busybox_image, tmp_path, monkeypatch
):
    secret = "s3cr3t-4c1d"
    for key in (
        "DJANGO_SECRET_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "EARTHBENCH_TOKEN",
        "DATABASE_URL",
        "HTTP_PROXY",
    ):
        monkeypatch.setenv(key, f"{secret}-{key}")
    script = "env > /output/env; cat /proc/1/environ | tr '\\0' '\\n' > /output/env1\n"
    with run_script(sandbox, busybox_image, script, tmp_path) as r:
        env = dict(
            line.split("=", 1) for line in read(r, "env").splitlines() if "=" in line
        )
        allowed = {
            "INPUT_DIR",
            "OUTPUT_DIR",
            "TIME_LIMIT_S",
            "MAX_MEMORY_MB",
            "EARTHBENCH_TASK_KIND",
            "HOME",
            "PATH",
            "HOSTNAME",
            "PWD",
            "SHLVL",
        }
        assert set(env) <= allowed, set(env) - allowed
        assert env["INPUT_DIR"] == "/input" and env["OUTPUT_DIR"] == "/output"
        assert env["EARTHBENCH_TASK_KIND"] == "classification"
        assert env["TIME_LIMIT_S"] == "30" and env["MAX_MEMORY_MB"] == "128"
        assert secret not in read(r, "env") and secret not in read(r, "env1")


# 13 --------------------------------------------------------------------------
WORKER = """
import sys
from pathlib import Path
from evaluator.sandbox import InputSample, Limits, Sandbox, SandboxConfig
root, image, script = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
sb = Sandbox(SandboxConfig(work_root=root, deadline_grace_s=1))
sb.run(job_id="doomed", image_id=image, samples=[InputSample("job", {"job.sh": script})],
       benchmark="t", task_kind="classification",
       limits=Limits(time_s=2, memory_mb=64, cpus=1, pids=16, tmpfs_mb=4))
"""


def test_reaper_removes_container_of_a_dead_worker(engine, busybox_image, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("sleep 1000\n")
    root = tmp_path / "jobs"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), busybox_image, str(script)],
        cwd=REPO,
    )
    try:
        for _ in range(100):
            running = [
                c for c in job_containers(engine, "doomed") if c.status == "running"
            ]
            if running:
                break
            time.sleep(0.1)
        assert running, "the worker never started its container"
        worker.kill()  # SIGKILL: no finally blocks run
        worker.wait(10)
        time.sleep(0.5)
        assert [c.status for c in job_containers(engine, "doomed")] == ["running"]
        assert reap_expired(engine, work_root=root) == []  # deadline not yet passed
        reaped = reap_expired(engine, now=time.time() + 10, work_root=root)
        assert reaped == ["doomed"]  # the caller marks this job failed or retries
        assert job_containers(engine, "doomed") == []
        assert not (root / "doomed").exists()
    finally:
        worker.kill()
        for c in job_containers(engine, "doomed"):
            c.remove(force=True)


# 14 --------------------------------------------------------------------------
def test_baseline_container_scored_with_latency_and_memory(
    engine, sandbox, baseline_tar, tmp_path
):
    info = load_image(engine, baseline_tar)
    weights = json.loads((REPO / "docker" / "baseline" / "weights.json").read_text())
    classes, means = weights["classes"], np.asarray(weights["band_means"])
    std = np.asarray(weights["band_std"])[:, None, None]
    rng = np.random.default_rng(14)
    samples, truth_rows = [], []
    for i in range(40):
        c = int(rng.integers(len(classes)))
        arr = means[c][:, None, None] + 0.5 * std * rng.standard_normal((13, 32, 32))
        path = tmp_path / f"s{i:03d}.npy"
        np.save(path, arr.astype(np.float32))
        samples.append(
            InputSample(
                id=f"s{i:03d}",
                files={f"s{i:03d}.npy": path},
                modality={"sensor": "Sentinel-2", "bands": 13},
            )
        )
        truth_rows.append((f"s{i:03d}", classes[c]))
    truth = tmp_path / "truth.csv"
    with open(truth, "w", newline="") as fh:
        csv.writer(fh).writerows([("id", "label"), *truth_rows])
    with sandbox.run(
        job_id="baseline",
        image_id=info.image_id,
        samples=samples,
        benchmark="eurosat-classification-v1",
        task_kind="classification",
        limits=Limits(time_s=120, memory_mb=512, cpus=1, pids=64, tmpfs_mb=64),
    ) as r:
        assert r.ok, (r.error, r.log_tail)
        metrics = score("classification", r.output_dir / "predictions.csv", truth)
        assert metrics["n_samples"] == 40 and metrics["oa"] >= 0.95
        assert r.latency_ms_per_sample is not None and r.latency_ms_per_sample > 0
        assert r.run_s is not None and 0 < r.run_s <= r.wall_s + 1
        assert (
            r.peak_memory_bytes is not None
            and 5 * 2**20 < r.peak_memory_bytes < 512 * 2**20
        )
        assert r.meta["model"] == "nearest-band-mean baseline"
        assert "predicted 40 samples" in r.log_tail
