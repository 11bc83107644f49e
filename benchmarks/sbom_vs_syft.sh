#!/usr/bin/env bash
# dockyard sbom vs syft on the same Debian bookworm minbase image (debootstrap), same run:
# docker-archive source and directory source; plus dockyard scan of the image against the
# imported test vulnerability data (scan time - sbom time should stay under 1 s).
# Needs: hyperfine, debootstrap (root), the project venv (make install).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# An installed wheel has its bytecode compiled at install time; a checkout's editable install
# writes it on first use, or never when PYTHONDONTWRITEBYTECODE is set. Compile it once here so
# every run measures the start-up users get.
"$BIN/python" -m compileall -q src >/dev/null
CACHE=${DOCKYARD_TEST_CACHE:-$HOME/.cache/dockyard-tests}
VULNDB=${VULNDB:-../shared/testdata/vulndb}
RUNS=${RUNS:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# the same cached rootfs tarball the tests use (built with debootstrap on first use)
TARBALL=$(cd tests/scan && ../../$BIN/python -c 'import _debian; print(_debian.debian_rootfs_tarball())')
export DOCKYARD_ROOT=$WORK/store
$BIN/dockyard import "$TARBALL" bench/debian:bookworm >/dev/null
$BIN/dockyard save --format docker -o "$WORK/debian.tar" bench/debian:bookworm
mkdir "$WORK/rootfs" && tar -xf "$TARBALL" -C "$WORK/rootfs"
$BIN/dockyard db import "$VULNDB/osv/PyPI" "$VULNDB/osv/Go" "$VULNDB/osv/crates.io" \
  "$VULNDB/debian/vunnel-fixture-debian-tracker.json" >/dev/null

# same package set first
ours=$($BIN/dockyard sbom "docker-archive:$WORK/debian.tar" --format json | python3 -c 'import json,sys; print(sorted(p["purl"] for p in json.load(sys.stdin)["packages"]))')
theirs=$(SYFT_CHECK_FOR_APP_UPDATE=false $BIN/syft -q "docker-archive:$WORK/debian.tar" -o json | python3 -c 'import json,sys; print(sorted(a["purl"] for a in json.load(sys.stdin)["artifacts"]))')
[ "$ours" = "$theirs" ] || { echo "package sets differ" >&2; exit 1; }
echo "same package set: $(python3 -c "import sys; print(len(eval(sys.argv[1])))" "$ours") packages"
ours_dir=$($BIN/dockyard sbom "dir:$WORK/rootfs" --format json | python3 -c 'import json,sys; print(sorted(p["purl"] for p in json.load(sys.stdin)["packages"]))')
theirs_dir=$(SYFT_CHECK_FOR_APP_UPDATE=false $BIN/syft -q "dir:$WORK/rootfs" -o json | python3 -c 'import json,sys; print(sorted(a["purl"] for a in json.load(sys.stdin)["artifacts"]))')
[ "$ours_dir" = "$theirs_dir" ] || { echo "package sets differ (directory source)" >&2; exit 1; }
echo "same package set from the directory too"

export SYFT_CHECK_FOR_APP_UPDATE=false
hyperfine --warmup 1 --runs "$RUNS" --export-markdown "$WORK/archive.md" \
  -n "syft docker-archive" "$BIN/syft -q docker-archive:$WORK/debian.tar -o json" \
  -n "dockyard sbom docker-archive" "$BIN/dockyard sbom docker-archive:$WORK/debian.tar --format json" \
  -n "dockyard sbom (local store)" "$BIN/dockyard sbom bench/debian:bookworm --format json" \
  -n "dockyard scan (local store)" "$BIN/dockyard scan bench/debian:bookworm --format json"
hyperfine --warmup 1 --runs "$RUNS" --export-markdown "$WORK/dir.md" \
  -n "syft dir" "$BIN/syft -q dir:$WORK/rootfs -o json" \
  -n "dockyard sbom dir" "$BIN/dockyard sbom dir:$WORK/rootfs --format json"
cat "$WORK/archive.md" "$WORK/dir.md"
