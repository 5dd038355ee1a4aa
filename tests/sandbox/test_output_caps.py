"""``/output`` caps hold while the container runs (issue 18), not only after.

Each test is a real container run; see evaluator/sandbox/outputfs.py.
"""

from __future__ import annotations

import os

import pytest

from evaluator.sandbox import Limits
from tests.sandbox.conftest import run_script

pytestmark = pytest.mark.docker

CAPS = Limits(
    time_s=60,
    memory_mb=256,
    cpus=1,
    pids=32,
    tmpfs_mb=8,
    output_max_mb=8,
    output_max_files=50,
)


def _values(log: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in log.splitlines() if line.startswith("@"))


def _host_bytes(root) -> int:
    """Blocks really allocated under the job's output folder, while it exists."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
    return total


def test_fallocate_is_refused_during_the_run(sandbox, busybox_image, tmp_path):
    script = (
        "fallocate -l 64M /output/f; echo @rc=$? >&2\n"
        "du -k /output >&2; echo 1 > /output/p.csv\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=CAPS) as r:
        assert _values(r.log_tail)["@rc"] != "0", r.log_tail
        assert _host_bytes(r.output_dir) <= 8 << 20


def test_data_beyond_the_cap_is_refused_during_the_run(
    sandbox, busybox_image, tmp_path
):
    script = (
        "dd if=/dev/zero of=/output/big bs=1M count=64 2>/dev/null; echo @rc=$? >&2\n"
        "echo @size=$(wc -c < /output/big) >&2\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=CAPS) as r:
        vals = _values(r.log_tail)
        assert vals["@rc"] != "0" and int(vals["@size"]) <= 8 << 20, r.log_tail
        assert _host_bytes(r.output_dir) <= 8 << 20


def test_too_many_files_refused_during_the_run(sandbox, busybox_image, tmp_path):
    script = (
        "i=0; while [ $i -lt 500 ]; do touch /output/f$i 2>/dev/null || break; "
        "i=$((i+1)); done; echo @files=$i >&2\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=CAPS) as r:
        assert int(_values(r.log_tail)["@files"]) <= 50 + 16, r.log_tail
        assert len(os.listdir(r.output_dir)) <= 50 + 16


def test_sparse_10_gb_write_is_stopped(sandbox, busybox_image, tmp_path):
    script = (
        "dd if=/dev/zero of=/output/s bs=1 count=1 seek=10737418240 2>/dev/null\n"
        "echo @rc=$? >&2\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=CAPS) as r:
        assert _values(r.log_tail)["@rc"] != "0", r.log_tail  # SIGXFSZ (fsize)
        assert [os.lstat(p).st_size for p in r.output_dir.iterdir()] == [0]


def test_output_counts_against_the_memory_limit(sandbox, busybox_image, tmp_path):
    # tmpfs pages are charged to the writer's memory cgroup and cannot be
    # reclaimed without swap: 48 MiB of output in a 32 MiB container is an OOM.
    limits = Limits(
        time_s=60, memory_mb=32, cpus=1, pids=32, tmpfs_mb=8, output_max_mb=64
    )
    script = (
        "dd if=/dev/zero of=/output/big bs=1M count=48 2>/dev/null; echo @rc=$? >&2\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=limits) as r:
        assert r.oom_killed, (r.error, r.log_tail)


def test_output_and_tmp_nosuid_nodev_and_host_path_hidden(
    sandbox, busybox_image, tmp_path
):
    script = (
        "grep -E ' /(output|tmp) ' /proc/mounts >&2\n"
        "grep -E ' /output ' /proc/self/mountinfo | sed 's/^/@mi=/' >&2\n"
        "echo 1 > /output/p.csv\n"
    )
    with run_script(sandbox, busybox_image, script, tmp_path, limits=CAPS) as r:
        assert r.ok, (r.error, r.log_tail)
        mounts = {
            line.split()[1]: line.split()[3].split(",")
            for line in r.log_tail.splitlines()
            if line.split()[1:2] in (["/output"], ["/tmp"])
        }
        for target in ("/output", "/tmp"):
            assert {"nosuid", "nodev"} <= set(mounts[target]), mounts
        assert "noexec" in mounts["/output"]
        mountinfo = _values(r.log_tail)["@mi"]
        assert mountinfo.split()[3] == "/", mountinfo  # root of its own tmpfs
        assert str(tmp_path) not in mountinfo and r.job_id not in mountinfo


def test_output_tmpfs_is_unmounted_with_the_job(sandbox, busybox_image, tmp_path):
    r = run_script(sandbox, busybox_image, "echo 1 > /output/p.csv\n", tmp_path)
    assert os.path.ismount(r.output_dir)
    r.cleanup()
    assert not r.job_dir.exists()
