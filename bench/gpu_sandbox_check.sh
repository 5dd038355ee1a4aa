#!/usr/bin/env bash
# GPU sandbox check (issue 24): a participant container computing on the GPU
# under the full sandbox hardening, measured by the platform. See
# docs/gpu-check.md for what is carried and the results.
#
#   bash bench/gpu_sandbox_check.sh prepare   # here (registries reachable):
#       apt-get download docker.io containerd runc tini; dpkg -x each; keep
#       dockerd, containerd, containerd-shim-runc-v2, runc, docker-init (tini)
#       in .gpu-carry/engine.tar.xz; copy the docker SDK (pure Python) to
#       .gpu-carry/py. .gpu-carry/ is git-ignored: name it in `carry`.
#   bash bench/gpu_sandbox_check.sh run [OUTDIR]   # on the device machine:
#       unpack the engine, start containerd+dockerd (own socket, data and exec
#       roots; no iptables, no bridge), compile bench/gpu_sandbox/matmul.cu
#       with nvcc, build the image from a minimal rootfs, run the cases of
#       bench/gpu_sandbox/run_check.py, stop the engine.
# Exit: 0 all GPU cases ran; 3 no GPU here (the GPU step is skipped, said so);
# 1 anything else failed (the message says what).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CARRY="$REPO/.gpu-carry"
say() { echo "[gpu-check] $*" >&2; }
die() { echo "!!!!!!!! [gpu-check] $* !!!!!!!!" >&2; exit 1; }

prepare() {
  mkdir -p "$CARRY/debs" "$CARRY/py"
  (cd "$CARRY/debs" && apt-get download docker.io containerd runc tini) >&2 \
    || die "apt-get download failed"
  rm -rf "$CARRY/root" "$CARRY/sel"; mkdir -p "$CARRY/sel/bin"
  for d in "$CARRY"/debs/*.deb; do dpkg -x "$d" "$CARRY/root"; done
  cp "$CARRY/root/usr/sbin/dockerd" "$CARRY/root/usr/bin/containerd" \
     "$CARRY/root/usr/bin/containerd-shim-runc-v2" "$CARRY/root/usr/sbin/runc" "$CARRY/sel/bin/"
  cp -L "$CARRY/root/usr/bin/tini-static" "$CARRY/sel/bin/docker-init"
  tar -C "$CARRY/sel" -cf - bin | xz -T2 -6 >"$CARRY/engine.tar.xz"
  local sdk; sdk=$(.venv/bin/python -c 'import docker, os; print(os.path.dirname(docker.__file__))')
  rm -rf "$CARRY/py/docker"; cp -r "$sdk" "$CARRY/py/docker"
  find "$CARRY/py" -name __pycache__ -prune -exec rm -rf {} +
  rm -rf "$CARRY/root" "$CARRY/sel" "$CARRY/debs"
  du -sh "$CARRY"/* >&2
  say "prepared: carry .gpu-carry (engine $(du -m "$CARRY/engine.tar.xz" | cut -f1) MiB)"
}

run() {
  local out="${1:-${OUT:-/tmp/gpu-check-out}}" base=/tmp/ebgpu t0
  mkdir -p "$out" "$base"
  [ -f "$CARRY/engine.tar.xz" ] || die "no $CARRY/engine.tar.xz: run '$0 prepare' here first"
  t0=$(date +%s)
  # Python's lzma: no xz binary needed on the device machine.
  "${PYTHON:-python3}" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], filter="data")' \
    "$CARRY/engine.tar.xz" "$base" || die "unpack failed"
  say "engine unpacked in $(( $(date +%s) - t0 )) s"
  export PATH="$base/bin:$PATH" DOCKER_HOST="unix://$base/docker.sock"
  export PYTHONPATH="$REPO:$CARRY/py${PYTHONPATH:+:$PYTHONPATH}"
  local started=0 pid=""
  for driver in overlay2 vfs; do
    dockerd -H "$DOCKER_HOST" --data-root "$base/data" --exec-root "$base/exec" \
      --pidfile "$base/dockerd.pid" --iptables=false --ip-masq=false --bridge=none \
      --storage-driver "$driver" >"$out/dockerd.log" 2>&1 &
    pid=$!
    for _ in $(seq 40); do
      "${PYTHON:-python3}" -c 'import docker; docker.from_env().ping()' 2>/dev/null && { started=1; break; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    [ "$started" = 1 ] && { say "dockerd up (storage $driver, pid $pid)"; break; }
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    say "dockerd with $driver did not start: $(tail -3 "$out/dockerd.log" | tr '\n' ' ')"
  done
  [ "$started" = 1 ] || die "the carried Docker engine did not start (see dockerd.log)"
  trap 'kill '"$pid"' 2>/dev/null; wait '"$pid"' 2>/dev/null' EXIT

  command -v nvcc >/dev/null || die "no nvcc here: cannot build the CUDA workload"
  nvcc -O2 -arch=sm_90 -cudart static -o "$base/workload" bench/gpu_sandbox/matmul.cu \
    || die "nvcc failed"
  if [ -e /dev/nvidiactl ] && "${PYTHON:-python3}" -c 'import pynvml; pynvml.nvmlInit()' 2>/dev/null; then
    say "GPU present: $(nvidia-smi -L 2>/dev/null | head -1)"
  else
    say "NO GPU on this machine (no /dev/nvidiactl or NVML): only the no-GPU case runs;"
    say "the GPU step is NOT run here"
  fi
  if [ -z "${EARTHBENCH_GPU_LIB_DIRS:-}" ] && ! ldconfig -p | grep -q 'libcuda.so.1 '; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
      [ -e "$d/libcuda.so.1" ] && export EARTHBENCH_GPU_LIB_DIRS="$d" && break
    done
  fi
  export EARTHBENCH_GPU_MODE="${EARTHBENCH_GPU_MODE:-inject}"
  say "GPU mode $EARTHBENCH_GPU_MODE; driver libraries: ${EARTHBENCH_GPU_LIB_DIRS:-ldconfig -p}"
  PYTHONUNBUFFERED=1 "${PYTHON:-python3}" bench/gpu_sandbox/run_check.py --binary "$base/workload" \
    --work "$base/work" --out "$out/gpu_check.json"
  local rc=$?
  say "check exit $rc after $(( $(date +%s) - t0 )) s; results in $out/gpu_check.json"
  return $rc
}

case "${1:-run}" in
  prepare) prepare ;;
  run) shift || true; run "$@"; exit $? ;;
  *) die "usage: $0 prepare | run [OUTDIR]" ;;
esac
