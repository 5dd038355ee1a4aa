#!/usr/bin/env bash
# Make a real Docker engine available for the sandbox tests (tests/sandbox).
#
#   1. install Debian's docker.io (engine + containerd + runc + docker-init) when
#      `dockerd` is missing, plus busybox-static and debootstrap (test images);
#   2. start `dockerd` in the background when no daemon answers, wait for it;
#   3. build the offline baseline image (docker/baseline/build_offline.sh;
#      cached under /var/cache/earthbench, ~5 min the first time).
# Exit 0 when an engine answers; otherwise print loudly and exit 1.
# Set EARTHBENCH_SKIP_BASELINE_BUILD=1 to skip step 3 (the tests build it lazily).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
LOG="${DOCKERD_LOG:-/tmp/dockerd-ci.log}"

loud() { echo "!!!!!!!! [docker.sh] $* !!!!!!!!" >&2; }
say() { echo "[docker.sh] $*" >&2; }

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >/tmp/docker-apt.log 2>&1 || { loud "apt-get install ${missing[*]} failed (see /tmp/docker-apt.log)"; }
fi

if ! command -v docker >/dev/null 2>&1; then
  loud "no docker CLI after install"; exit 1
fi

wait_engine() {
  for _ in $(seq 60); do
    [ -S /var/run/docker.sock ] && engine_up && return 0
    sleep 1
  done
  return 1
}

if engine_up; then
  say "engine already running: $(docker version --format '{{.Server.Version}}')"
else
  command -v dockerd >/dev/null 2>&1 || { loud "dockerd not installed: sandbox tests will be SKIPPED"; exit 1; }
  say "starting dockerd (log: $LOG)"
  nohup dockerd >"$LOG" 2>&1 &
  DOCKERD_PID=$!
  if ! wait_engine; then
    # Restricted hosts (no iptables/bridge): the sandbox only needs --network none.
    say "retrying dockerd with --iptables=false --bridge=none"
    kill "$DOCKERD_PID" 2>/dev/null; sleep 2  # only the daemon this script started
    nohup dockerd --iptables=false --bridge=none >>"$LOG" 2>&1 &
    wait_engine || { tail -20 "$LOG" >&2; loud "Docker engine did not start: sandbox tests will be SKIPPED"; exit 1; }
  fi
  say "engine up: $(docker version --format '{{.Server.Version}}')"
fi

if [ "${EARTHBENCH_SKIP_BASELINE_BUILD:-0}" != "1" ]; then
  bash docker/baseline/build_offline.sh >/dev/null \
    || loud "baseline image build failed: the baseline proof will be SKIPPED"
fi
exit 0
