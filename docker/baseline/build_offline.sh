#!/usr/bin/env bash
# Build the eurosat baseline image with no registry access and save it as a
# `docker save` tarball (what a participant would upload).
#
#   1. a Debian bookworm rootfs with python3 + numpy (debootstrap from the Debian
#      mirror, ~1 min, cached as a tarball in $EARTHBENCH_IMAGE_CACHE);
#   2. `docker import` of it as earthbench/pybase:bookworm;
#   3. `docker build` (legacy builder) of Dockerfile.offline on top;
#   4. `docker save` to $EARTHBENCH_IMAGE_CACHE/baseline-eurosat.tar.
# Each step is skipped when its output exists and its inputs did not change.
# Needs: root, debootstrap, a running docker engine. Prints the tarball path.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${EARTHBENCH_IMAGE_CACHE:-/var/cache/earthbench}"
# The Debian mirror this machine's apt already uses (no host name in the repo).
apt_mirror() {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n' | grep -v -- '-security' | head -n 1
    awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true
}
MIRROR="${DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}"
BASE_TAR="$CACHE/pybase-bookworm-rootfs.tar"
BASE_TAG="earthbench/pybase:bookworm"
TAG="earthbench/baseline-eurosat:offline"
OUT_TAR="$CACHE/baseline-eurosat.tar"
STAMP="$CACHE/baseline-eurosat.sha256"

log() { echo "[build_offline] $*" >&2; }
mkdir -p "$CACHE"

if [ ! -s "$BASE_TAR" ]; then
    command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install -y debootstrap"; exit 1; }
    ROOTFS="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    trap 'rm -rf "$ROOTFS"' EXIT
    log "debootstrap bookworm (python3, numpy) into $ROOTFS ..."
    debootstrap --variant=minbase --include=python3-minimal,python3-numpy \
        bookworm "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { log "debootstrap failed, see $CACHE/debootstrap.log"; exit 1; }
    # Slim it: apt caches, docs, manuals and locales are not needed to run.
    rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* \
        "$ROOTFS"/usr/share/doc "$ROOTFS"/usr/share/man "$ROOTFS"/usr/share/locale \
        "$ROOTFS"/usr/share/info "$ROOTFS"/var/log/*
    tar --numeric-owner -C "$ROOTFS" -cf "$BASE_TAR.part" .
    mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$ROOTFS"; trap - EXIT
fi

if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    log "docker import $BASE_TAR as $BASE_TAG"
    docker import -c 'CMD ["python3"]' "$BASE_TAR" "$BASE_TAG" >/dev/null
fi

SUM="$(cat "$HERE/Dockerfile.offline" "$HERE/predict.py" "$HERE/weights.json" | sha256sum | cut -d' ' -f1)"
if [ -s "$OUT_TAR" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SUM" ] \
    && docker image inspect "$TAG" >/dev/null 2>&1; then
    log "up to date: $OUT_TAR"
else
    log "docker build $TAG"
    OLD="$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
    DOCKER_BUILDKIT=0 docker build -q -f "$HERE/Dockerfile.offline" -t "$TAG" "$HERE" >/dev/null 2>"$CACHE/build.log" \
        || { cat "$CACHE/build.log" >&2; exit 1; }
    docker save "$TAG" -o "$OUT_TAR.part"
    mv "$OUT_TAR.part" "$OUT_TAR"
    echo "$SUM" >"$STAMP"
    NEW="$(docker image inspect -f '{{.Id}}' "$TAG")"
    # Drop the superseded build (ignored while a container or tag still uses it).
    [ -n "$OLD" ] && [ "$OLD" != "$NEW" ] && docker rmi "$OLD" >/dev/null 2>&1 || true
fi
echo "$OUT_TAR"
