#!/usr/bin/env bash
# Garbage collection at scale: dockyard's online GC vs distribution 2.8's offline
# `registry garbage-collect`, on the same synthetic store, in one run.
#   - the store (benchmarks/_make_gc_store.py): MANIFESTS OCI manifests (default 10,000) of
#     BLOBS_PER small blobs each (default 10: 100,000 blobs), half of the manifests untagged;
#     written once in dockyard's layout and once in distribution's filesystem layout
#   - dockyard: `dockyard registry serve` on the store; pull load (wrk, 1 thread, 8 connections,
#     a Lua script cycling through the tagged manifests and their blobs) and push load
#     (benchmarks/_gc_push_load.py: PUSHERS threads pushing new small images, 5 requests each)
#     measured for WINDOW seconds before; then `dockyard registry gc --delete-untagged
#     --workers GC_WORKERS` (under /usr/bin/time -v) while the same loads run in WINDOW-second
#     rounds until it ends. After: every image pushed during the GC is checked (manifest GET, blob
#     HEADs) and `dockyard registry fsck` checks every blob and every manifest's references.
#   - distribution: `docker-registry garbage-collect --delete-untagged` (under /usr/bin/time -v)
#     with no registry serving (it needs the registry stopped or read-only).
# Prints a Markdown table; append it to benchmarks/RESULTS.md with a dated heading.
# Needs: docker-registry (Debian's, 2.8.2), wrk, curl, GNU time.
# Usage: [GC_WORKERS=n] [PUSHERS=n] [WINDOW=s] benchmarks/gc_at_scale.sh [MANIFESTS] [BLOBS_PER]
set -euo pipefail
cd "$(dirname "$0")/.."
MANIFESTS=${1:-10000}
BLOBS_PER=${2:-10}
WINDOW=${WINDOW:-10}
GC_WORKERS=${GC_WORKERS:-4}
PUSHERS=${PUSHERS:-2}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
"$PYTHON" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-gcbench-XXXXXX")
cleanup() {
  [ -e "$WORK/dy.pid" ] && kill "$(cat "$WORK/dy.pid")" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DY=127.0.0.1:$(free_port)

echo "writing the store: $MANIFESTS manifests x $BLOBS_PER blobs, twice" >&2
"$PYTHON" benchmarks/_make_gc_store.py "$WORK/dy" "$WORK/dist" "$MANIFESTS" "$BLOBS_PER" \
  "$WORK/pulls.txt"
dist_blobs_before=$(find "$WORK/dist/docker/registry/v2/blobs" -name data | wc -l)

"$DOCKYARD" registry serve --root "$WORK/dy" --addr "$DY" >"$WORK/dy.log" 2>&1 &
echo $! >"$WORK/dy.pid"
for _ in $(seq 400); do curl -fs "http://$DY/v2/" >/dev/null && break; sleep 0.05; done

cat >"$WORK/pull.lua" <<'LUA'
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(os.getenv("PULLS")) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = "application/vnd.oci.image.manifest.v1+json"})
end
LUA
export PULLS=$WORK/pulls.txt

pulls() {  # seconds → "requests seconds" (non-2xx answers count as errors in wrk's output)
  local out
  out=$(wrk -t1 -c8 -d"${1}s" -s "$WORK/pull.lua" "http://$DY" 2>&1)
  if grep -q "Non-2xx" <<<"$out"; then echo "wrk: $(grep Non-2xx <<<"$out")" >&2; fi
  awk '/requests in/ {gsub("s,","",$4); print $1, $4}' <<<"$out"
}
ratio() { "$PYTHON" -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{a/b:.0%}')" "$@"; }

echo "before: ${WINDOW}s of pulls and pushes" >&2
"$PYTHON" benchmarks/_gc_push_load.py "$DY" "$PUSHERS" "$WINDOW" >"$WORK/push-before.json" &
push_pid=$!
read -r pull_n pull_s < <(pulls "$WINDOW")
wait $push_pid
pull_before=$("$PYTHON" -c "print(round($pull_n/$pull_s, 1))")
push_before=$("$PYTHON" -c "import json; print(json.load(open('$WORK/push-before.json'))['requests_per_s'])")

echo "during: dockyard registry gc --delete-untagged --workers $GC_WORKERS, with the same load" >&2
"$PYTHON" benchmarks/_gc_push_load.py "$DY" "$PUSHERS" --until "$WORK/stop" --check \
  >"$WORK/push-during.json" &
push_pid=$!
/usr/bin/time -v "$DOCKYARD" registry gc --root "$WORK/dy" --delete-untagged \
  --workers "$GC_WORKERS" --format json >"$WORK/gc.json" 2>"$WORK/gc.time" &
gc_pid=$!
total_n=0 total_s=0 rounds=0
while kill -0 $gc_pid 2>/dev/null; do
  read -r n s < <(pulls "$WINDOW")
  total_n=$((total_n + n)); total_s=$("$PYTHON" -c "print($total_s + $s)"); rounds=$((rounds + 1))
done
wait $gc_pid
touch "$WORK/stop"
wait $push_pid
pull_during=$("$PYTHON" -c "print(round($total_n/max($total_s, 1e-9), 1))")
push_during=$("$PYTHON" -c "import json; print(json.load(open('$WORK/push-during.json'))['requests_per_s'])")
missing=$("$PYTHON" -c "import json; print(json.load(open('$WORK/push-during.json'))['missing'])")
fsck=$("$DOCKYARD" registry fsck --root "$WORK/dy" | tail -1)

dy_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/gc.time")
dy_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/gc.time")
read -r dy_manifests dy_blobs dy_seconds < <("$PYTHON" -c "
import json; r = json.load(open('$WORK/gc.json'))
print(len(r['manifests']), len(r['blobs']) + len(r['orphans']), round(r['seconds'], 1))")

echo "distribution: docker-registry garbage-collect --delete-untagged (registry stopped)" >&2
cat >"$WORK/dist.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $WORK/dist}, delete: {enabled: true}}
YML
/usr/bin/time -v docker-registry garbage-collect --delete-untagged "$WORK/dist.yml" \
  >"$WORK/dist-gc.log" 2>"$WORK/dist.time"
dist_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/dist.time")
dist_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/dist.time")
dist_blobs_after=$(find "$WORK/dist/docker/registry/v2/blobs" -name data | wc -l)
dist_deleted=$((dist_blobs_before - dist_blobs_after))

cat <<MD
| | dockyard registry gc (online, --workers $GC_WORKERS) | docker-registry garbage-collect 2.8.2 (registry stopped) |
|---|---|---|
| store | $MANIFESTS manifests, $((MANIFESTS * BLOBS_PER)) blobs | the same ($dist_blobs_before files: blobs + manifests) |
| deleted | $dy_manifests manifests, $dy_blobs blobs | $dist_deleted blob files (manifests are blobs there) |
| wall clock (/usr/bin/time) | $dy_wall (report: $dy_seconds s) | $dist_wall |
| max RSS [KiB] | $dy_rss | $dist_rss |
| pulls/s before → during GC (wrk, 8 conns) | $pull_before → $pull_during ($(ratio "$pull_during" "$pull_before"), $rounds rounds of ${WINDOW}s) | — (no serving) |
| push requests/s before → during GC ($PUSHERS pushers) | $push_before → $push_during ($(ratio "$push_during" "$push_before")) | — (no serving) |
| images pushed during GC missing a manifest or blob | $missing | — |
| fsck after | $fsck | — |
MD
