#!/usr/bin/env bash
# dockyard build --platform linux/amd64,linux/arm64 vs BuildKit building each platform in turn
# (DOCKER_BUILDKIT=1 docker build --platform linux/amd64, then --platform linux/arm64: Debian's
# docker.io 20.10 takes one platform per build and Debian has no buildx), same contexts, same
# run, cold builds (bases present, --no-cache, one warm-up run):
#   go   the Go cross-compilation example of docs/multiplatform.md: `FROM --platform=$BUILDPLATFORM
#        golang:1.19`, `GOOS=$TARGETOS GOARCH=$TARGETARCH go build`, `FROM scratch` (no emulation)
#   apt  Debian bookworm per platform, `apt-get install` of a local .deb (GNU hello) and running
#        it: the arm64 RUN is emulated (qemu-user through binfmt_misc)
#   both one Dockerfile with both: an emulated apt RUN and a cross-compiled Go build
# Goal (issue 14): dockyard's multi-platform build ≤ 1.0× BuildKit's total for the two platforms.
# Usage: benchmarks/multiplatform_build.sh [RUNS]
#   (needs hyperfine, debootstrap, qemu-user-static + binfmt-support, golang-go, docker.io; the
#   first run makes an arm64 Debian root with debootstrap under qemu, cached like the tests' images
#   in ${DOCKYARD_TEST_CACHE:-~/.cache/dockyard-tests})
set -euo pipefail
RUNS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DOCKYARD=${DOCKYARD:-$REPO/.venv/bin/dockyard}
PY=$REPO/.venv/bin/python
# compile the checkout's bytecode once, as an installed wheel has it (see build_vs_buildkit.sh)
"$PY" -m compileall -q "$REPO/src" >/dev/null
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
# shellcheck source=benchmarks/_dockerd.sh
source "$HERE/_dockerd.sh"
WORK=$(mktemp -d /tmp/dy-mp-bench-XXXXXX)
export DOCKYARD_ROOT=$WORK/store
trap 'rm -rf "$WORK"; declare -F stop_bench_dockerd >/dev/null && stop_bench_dockerd || true' EXIT

# --- base images, made offline (the tests' cached root filesystems) ----------------------------
CACHE=${DOCKYARD_TEST_CACHE:-$HOME/.cache/dockyard-tests}
mkdir -p "$CACHE"
tarball() { (cd "$REPO/tests" && "$PY" -c "from _infra.$1 import $2; print($2())"); }
GO_TAR=$(tarball go_images go_toolchain_tar)
DEB_AMD64=$(tarball _debian debian_rootfs_tarball)
DEB_ARM64=$CACHE/debian-bookworm-minbase-arm64-rootfs.tar
if [ ! -f "$DEB_ARM64" ]; then
  echo "making $DEB_ARM64 (debootstrap --arch=arm64 under qemu, a few minutes)" >&2
  mirror=$(cd "$REPO/tests" && "$PY" -c "from _infra._debian import host_mirror; print(host_mirror() or '')")
  /usr/sbin/debootstrap --arch=arm64 --variant=minbase bookworm "$WORK/arm64-root" $mirror >&2
  rm -f "$WORK"/arm64-root/var/cache/apt/archives/*.deb "$WORK"/arm64-root/var/lib/apt/lists/* 2>/dev/null || true
  tar --numeric-owner -C "$WORK/arm64-root" -cf "$DEB_ARM64.part" . && mv "$DEB_ARM64.part" "$DEB_ARM64"
  rm -rf "$WORK/arm64-root"
fi
# docker 20.10's `import --platform` keeps the host's architecture: load dockyard's save instead
base() { # tarball, platform, name
  "$DOCKYARD" import --platform "$2" "$1" "$3" >/dev/null 2>&1
  "$DOCKYARD" save -o "$WORK/base.tar" "$3" 2>/dev/null
  "$DOCKER" load -q -i "$WORK/base.tar" >/dev/null
  rm "$WORK/base.tar"
}
base "$GO_TAR" linux/amd64 golang:1.19
base "$DEB_AMD64" linux/amd64 bench-debian:amd64
base "$DEB_ARM64" linux/arm64 bench-debian:arm64

# --- contexts -----------------------------------------------------------------------------------
go=$WORK/go
mkdir -p "$go"
# the example's files, taken from the test that builds it
"$PY" - "$REPO/tests/builder/test_build_multiplatform_go.py" "$go" <<'PY'
import ast, pathlib, sys
tree = ast.parse(pathlib.Path(sys.argv[1]).read_text())
consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
          for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
for name, const in (("Dockerfile", "DOCKERFILE"), ("go.mod", "GO_MOD"), ("main.go", "MAIN_GO")):
    pathlib.Path(sys.argv[2], name).write_text(consts[const])
PY
apt=$WORK/apt
mkdir -p "$apt/debs"
(cd "$apt/debs" && apt-get download -qq hello:amd64 hello:arm64 2>/dev/null)
cat >"$apt/Dockerfile" <<'DF'
FROM bench-debian:$TARGETARCH
ARG TARGETARCH
COPY debs/ /tmp/debs/
RUN apt-get install -y --no-install-recommends /tmp/debs/hello_*_$TARGETARCH.deb \
    && hello > /greeting && uname -m > /arch && rm -rf /tmp/debs
CMD ["hello"]
DF
both=$WORK/both
cp -r "$go" "$both"
cp -r "$apt/debs" "$both/debs"
cat >"$both/Dockerfile" <<'DF'
FROM --platform=$BUILDPLATFORM golang:1.19 AS builder
WORKDIR /app
COPY go.mod ./
RUN go mod download
COPY main.go ./
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -ldflags "-X main.builtOn=$(uname -m)" -o myapp .

FROM bench-debian:$TARGETARCH
ARG TARGETARCH
COPY debs/ /tmp/debs/
RUN apt-get install -y --no-install-recommends /tmp/debs/hello_*_$TARGETARCH.deb \
    && rm -rf /tmp/debs
COPY --from=builder /app/myapp /usr/local/bin/myapp
CMD ["myapp"]
DF

export DOCKER_BUILDKIT=1
dy() { "$DOCKYARD" build -q --no-cache --platform linux/amd64,linux/arm64 -t bench-mp:1 "$1" >/dev/null; }
dk() {
  "$DOCKER" build -q --no-cache --network host --platform linux/amd64 -t bench-mp:amd64 "$1" >/dev/null
  "$DOCKER" build -q --no-cache --network host --platform linux/arm64 -t bench-mp:arm64 "$1" >/dev/null
}
export -f dy dk
export DOCKER DOCKYARD

# every tool's output is checked once before timing: the arm64 half really is arm64
dy "$both"
[ "$("$DOCKYARD" run --rm --platform linux/arm64 bench-mp:1)" = "hello from linux/arm64, built on x86_64" ]
dk "$both"
[ "$("$DOCKER" run --rm --network none --platform linux/arm64 bench-mp:arm64)" = "hello from linux/arm64, built on x86_64" ]

bench() { # title, context
  echo "### $1"
  hyperfine --shell bash --runs "$RUNS" --warmup 1 --export-markdown "$WORK/t.md" \
    --export-json "$WORK/t.json" \
    -n "dockyard build --platform linux/amd64,linux/arm64" "dy $2" \
    -n "docker build --platform linux/amd64; … linux/arm64 (BuildKit)" "dk $2" >/dev/null
  cat "$WORK/t.md"
  python3 - "$WORK/t.json" <<'PY'
import json, sys
runs = [(r["command"], r["median"]) for r in json.load(open(sys.argv[1]))["results"]]
(dy, m_dy), (_, m_dk) = runs
print(f"medians: dockyard {m_dy:.2f} s, BuildKit (both platforms) {m_dk:.2f} s: "
      f"dockyard {m_dy / m_dk:.2f}x BuildKit")
PY
  echo
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
bench "Go cross-compilation (docs/multiplatform.md)" "$go"
bench "apt-get install, arm64 emulated" "$apt"
bench "both: emulated apt RUN + cross-compiled Go" "$both"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
