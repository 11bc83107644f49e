#!/usr/bin/env bash
# dockyard run --rm IMG true vs docker run --rm --network host IMG true vs podman run --rm IMG
# true, the same busybox-static image in all three, the same run (goal: dockyard ≤ 0.5× docker).
# Usage: benchmarks/run_vs_docker.sh [RUNS]   (needs hyperfine, busybox-static, podman)
set -euo pipefail
RUNS=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DOCKYARD=${DOCKYARD:-$REPO/.venv/bin/dockyard}
# compile the checkout's bytecode once, as an installed wheel has it (see build_vs_buildkit.sh)
"$REPO/.venv/bin/python" -m compileall -q "$REPO/src" >/dev/null
# shellcheck source=benchmarks/_dockerd.sh
source "$HERE/_dockerd.sh"
WORK=$(mktemp -d /tmp/dy-run-bench-XXXXXX)
export DOCKYARD_ROOT=$WORK/store
PODMAN="podman --root $WORK/podman --runroot $WORK/podman-run --storage-driver overlay"
cleanup_work() {
  $PODMAN rm --all --force >/dev/null 2>&1 || true
  umount -R "$WORK"/podman* 2>/dev/null || true
  rm -rf "$WORK"
}
trap 'cleanup_work; declare -F stop_bench_dockerd >/dev/null && stop_bench_dockerd || true' EXIT

mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in sh true; do ln -s busybox "$WORK/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/rootfs/etc/passwd"
echo 'root:x:0:' >"$WORK/rootfs/etc/group"
tar -C "$WORK/rootfs" -cf "$WORK/base.tar" .
"$DOCKER" import "$WORK/base.tar" bench-run:1 >/dev/null
"$DOCKYARD" import "$WORK/base.tar" bench-run:1 >/dev/null
$PODMAN import -q "$WORK/base.tar" bench-run:1 >/dev/null

# podman asks for more open files than this machine's hard limit allows: keep the host's limits
PODMAN_LIMITS="--ulimit nofile=$(ulimit -Sn):$(ulimit -Hn) --ulimit nproc=1024:1024"
hyperfine --warmup 3 --runs "$RUNS" --export-markdown "$WORK/run.md" \
  -n "dockyard run --rm" "$DOCKYARD run --rm bench-run:1 true" \
  -n "docker run --rm --network host" "$DOCKER run --rm --network host bench-run:1 true" \
  -n "podman run --rm" "$PODMAN run --rm --network host $PODMAN_LIMITS bench-run:1 true"
cat "$WORK/run.md"
