#!/usr/bin/env bash
# dockyard build vs docker build (BuildKit, DOCKER_BUILDKIT=1) vs buildah bud --layers, same
# contexts, same run: cold build (base present, no cache), no-op rebuild, rebuild after one
# copied file changed, and a 10,000-small-file context with `COPY . /app` (cold and no-op).
# Usage: benchmarks/build_vs_buildkit.sh [RUNS]   (needs hyperfine, busybox-static, buildah)
set -euo pipefail
RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DOCKYARD=${DOCKYARD:-$REPO/.venv/bin/dockyard}
# An installed wheel has its bytecode compiled at install time; a checkout's editable install
# writes it on first use, or never when PYTHONDONTWRITEBYTECODE is set. Compile it once here so
# every run measures the start-up users get.
"$REPO/.venv/bin/python" -m compileall -q "$REPO/src" >/dev/null
# shellcheck source=benchmarks/_dockerd.sh
source "$HERE/_dockerd.sh"
WORK=$(mktemp -d /tmp/dy-build-bench-XXXXXX)
export DOCKYARD_ROOT=$WORK/store
BUILDAH="buildah --root $WORK/buildah --runroot $WORK/buildah-run --storage-driver overlay"
cleanup_work() { $BUILDAH rm --all >/dev/null 2>&1 || true; umount -R "$WORK"/buildah* 2>/dev/null || true; rm -rf "$WORK"; }
trap 'cleanup_work; declare -F stop_bench_dockerd >/dev/null && stop_bench_dockerd || true' EXIT

# the base: a busybox-static root filesystem, imported into all three
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in sh echo cat wc ls mkdir true; do ln -s busybox "$WORK/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/rootfs/etc/passwd"
echo 'root:x:0:' >"$WORK/rootfs/etc/group"
tar -C "$WORK/rootfs" -cf "$WORK/base.tar" .
"$DOCKER" import "$WORK/base.tar" bench-busybox:1 >/dev/null
"$DOCKYARD" import "$WORK/base.tar" bench-busybox:1 >/dev/null
"$DOCKER" save -o "$WORK/base-docker.tar" bench-busybox:1
$BUILDAH pull -q docker-archive:"$WORK/base-docker.tar" >/dev/null

small=$WORK/small
mkdir -p "$small/src"
for i in $(seq 20); do echo "file $i" >"$small/src/f$i.txt"; done
cat >"$small/Dockerfile" <<'DF'
FROM bench-busybox:1
RUN echo hello > /hello
COPY src/ /src/
RUN wc -c /src/* > /sizes
ENV APP=1
CMD ["cat", "/sizes"]
DF
big=$WORK/big
mkdir -p "$big"
python3 - "$big" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/d{d}/f{f}.txt", "w") as out:
            out.write(f"{d}/{f}\n")
PY
printf 'FROM bench-busybox:1\nCOPY . /app\n' >"$big/Dockerfile"

export DOCKER_BUILDKIT=1
dk() { "$DOCKER" build -q --network host -t bench-out:1 "$@" >/dev/null; }
dy() { "$DOCKYARD" build -q -t bench-out:1 "$@" >/dev/null; }
ba() { $BUILDAH bud -q --layers --network host -t bench-out:1 "$@" >/dev/null 2>&1; }
export -f dk dy ba
export DOCKER DOCKYARD BUILDAH

bench() { # title, then hyperfine args
  local title=$1; shift
  echo "### $title"
  hyperfine --shell bash --runs "$RUNS" --warmup 1 --export-markdown "$WORK/t.md" \
    --export-json "$WORK/t.json" "$@" >/dev/null
  cat "$WORK/t.md"
  # one stalled run (a sync behind another process's writes) moves a mean by seconds: the
  # medians, and each tool's median against BuildKit's, are the figures to compare
  python3 - "$WORK/t.json" <<'PY'
import json, sys
runs = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
anchor = runs.get("docker build (BuildKit)")
print("medians: " + ", ".join(
    f"{name} {1000 * m:.1f} ms" + (f" ({m / anchor:.2f}x BuildKit)" if anchor else "")
    for name, m in runs.items()))
PY
  echo
}

bench "cold build (small context, base present, no cache)" \
  -n "dockyard build" "dy --no-cache $small" \
  -n "docker build (BuildKit)" "dk --no-cache $small" \
  -n "buildah bud --layers" "ba --no-cache $small"
bench "no-op rebuild (small context)" \
  -n "dockyard build" "dy $small" \
  -n "docker build (BuildKit)" "dk $small" \
  -n "buildah bud --layers" "ba $small"
bench "rebuild after one copied file changed" \
  --prepare "date +%s%N > $small/src/f1.txt" \
  -n "dockyard build" "dy $small" \
  -n "docker build (BuildKit)" "dk $small" \
  -n "buildah bud --layers" "ba $small"
bench "10,000-file context, COPY . /app: cold" \
  -n "dockyard build" "dy --no-cache $big" \
  -n "docker build (BuildKit)" "dk --no-cache $big" \
  -n "buildah bud --layers" "ba --no-cache $big"
bench "10,000-file context, COPY . /app: no-op rebuild" \
  -n "dockyard build" "dy $big" \
  -n "docker build (BuildKit)" "dk $big" \
  -n "buildah bud --layers" "ba $big"
