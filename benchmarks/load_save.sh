#!/usr/bin/env bash
# dockyard load/save vs docker load/save for a ~500 MB, 6-layer image, same machine, same run.
# Needs: docker.io (dockerd), busybox-static, hyperfine. Usage: benchmarks/load_save.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
# An installed wheel has its bytecode compiled at install time; a checkout's editable install
# writes it on first use, or never when PYTHONDONTWRITEBYTECODE is set. Compile it once here so
# every run measures the start-up users get.
"$PWD/.venv/bin/python" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-loadsave-XXXXXX")
. benchmarks/_dockerd.sh
trap 'rm -rf "$WORK"; declare -F stop_bench_dockerd >/dev/null && stop_bench_dockerd' EXIT

# A base image from busybox-static, then 5 layers of 100 MB of random data each (incompressible,
# so neither side can win by compression).
mkdir -p "$WORK/rootfs/bin" "$WORK/ctx"
cp /bin/busybox "$WORK/rootfs/bin/busybox"; ln -s busybox "$WORK/rootfs/bin/sh"
tar -C "$WORK/rootfs" -c . | "$DOCKER" import - bench/base:latest >/dev/null
{
  echo "FROM bench/base:latest"
  for i in 1 2 3 4 5; do
    head -c 100000000 /dev/urandom >"$WORK/ctx/blob$i"
    echo "COPY blob$i /data/blob$i"
  done
} >"$WORK/ctx/Dockerfile"
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t bench/big:latest "$WORK/ctx" >/dev/null
rm -f "$WORK"/ctx/blob*
"$DOCKER" save -o "$WORK/big.tar" bench/big:latest
ls -l "$WORK/big.tar"

export DOCKYARD_ROOT="$WORK/store"
"$DOCKYARD" load -q -i "$WORK/big.tar" >/dev/null

hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/load.md" \
  --prepare "$DOCKER rmi -f bench/big:latest >/dev/null 2>&1 || true; sync" \
  -n "docker load" "$DOCKER load -q -i $WORK/big.tar" \
  --prepare "rm -rf $WORK/store2; sync" \
  -n "dockyard load" "DOCKYARD_ROOT=$WORK/store2 $DOCKYARD load -q -i $WORK/big.tar"

"$DOCKER" load -q -i "$WORK/big.tar" >/dev/null
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/save.md" \
  --prepare "rm -f $WORK/out.tar; sync" \
  -n "docker save" "$DOCKER save -o $WORK/out.tar bench/big:latest" \
  -n "dockyard save" "$DOCKYARD save -o $WORK/out.tar bench/big:latest"

cat "$WORK/load.md" "$WORK/save.md"
