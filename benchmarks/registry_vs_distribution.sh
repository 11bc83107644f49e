#!/usr/bin/env bash
# dockyard's registry vs distribution 2.8 (Debian's docker-registry), side by side in one run:
#   - manifest GET by tag (wrk, 32 connections, Accept header from a Lua script) and HEAD (hey,
#     32 workers: wrk 4.1 waits for a body after a HEAD answer that has Content-Length)
#   - tags list (wrk, 32 connections)
#   - 100 MiB blob GET: one curl download (hyperfine) and wrk with 4 connections (Transfer/sec)
#   - skopeo copy push and pull of a 10-layer ~200 MB image (random data), hyperfine
# Both registries: filesystem storage in a fresh temp dir, 127.0.0.1 on a free port, delete
# enabled, default access logging (to a file). Every push run starts from an empty, restarted
# registry; every pull run from an empty target directory.
# distribution uses every core (Go); dockyard runs DY_WORKERS processes (default: one per core).
# Each wrk/hey measurement runs REPEAT times, the two registries alternating, and the table
# shows the medians (the ratio is the median of the per-round ratios).
# Needs: docker-registry, skopeo, wrk, hey, hyperfine, curl.
# Usage: [DY_WORKERS=n] [REPEAT=n] benchmarks/registry_vs_distribution.sh [runs] [wrk-seconds]
set -euo pipefail
source "$(dirname "$0")/lib/registry_bench.sh"
RUNS=${1:-5}
SECONDS_WRK=${2:-10}
REPEAT=${REPEAT:-3}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
bench_init regbench
export DY_WORKERS
DIST=127.0.0.1:$(free_port)
DY=127.0.0.1:$(free_port)
export DIST DY

# restart.sh dist|dy: stop that registry, empty its storage, start it, wait for /v2/
cat >"$WORK/restart.sh" <<'SH'
#!/usr/bin/env bash
set -eu
which=$1
if [ -e "$WORK/$which.pid" ]; then
  pid=$(cat "$WORK/$which.pid"); kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -rf "$WORK/$which-data"; mkdir -p "$WORK/$which-data"
if [ "$which" = dist ]; then
  cat >"$WORK/dist.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/dist-data}, delete: {enabled: true}}
http: {addr: $DIST, secret: bench}
YML
  docker-registry serve "$WORK/dist.yml" >>"$WORK/dist.log" 2>&1 &
  host=$DIST
else
  REGISTRY_STORAGE_DELETE_ENABLED=true "$DOCKYARD" registry serve --root "$WORK/dy-data" \
    --addr "$DY" --workers "$DY_WORKERS" >>"$WORK/dy.log" 2>&1 &
  host=$DY
fi
echo $! >"$WORK/$which.pid"
for _ in $(seq 200); do curl -fs "http://$host/v2/" >/dev/null && exit 0; sleep 0.05; done
echo "registry $which did not start" >&2; exit 1
SH
chmod +x "$WORK/restart.sh"
"$WORK/restart.sh" dist
"$WORK/restart.sh" dy

# the image: an OCI layout with 10 gzip layers of 20 MB random data; and a 100 MiB blob
make_image
du -sh "$WORK/src"

push_image() {  # host
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$WORK/src:bench" \
    "docker://$1/bench/img:1"
  for t in 2 3 4 5 6 7 8; do
    skopeo copy -q --dest-tls-verify=false "docker://$1/bench/img:1" "docker://$1/bench/img:$t" \
      --src-tls-verify=false
  done
}
for h in "$DIST" "$DY"; do push_image "$h"; push_blob "$h"; done

write_get_lua

for _ in 1 2 3; do  # warm up both (every dockyard worker caches the manifest)
  for h in "$DIST" "$DY"; do curl -fsS -H "Accept: $ACCEPT" -o /dev/null "http://$h/v2/bench/img/manifests/1"; done
done
rows=()
for spec in "manifest GET by tag|/v2/bench/img/manifests/1|GET|32" \
            "tags list|/v2/bench/img/tags/list|GET|32" \
            "100 MiB blob GET, 4 connections|/v2/bench/big/blobs/$BIG|GET|4"; do
  IFS='|' read -r name path lua conns <<<"$spec"
  ds="" ys="" rs=""
  for _ in $(seq "$REPEAT"); do
    d=$(bench_wrk "$name" "$DIST" "$path" "$lua" "$conns"); dt=$(mb "$(transfer)")
    y=$(bench_wrk "$name" "$DY" "$path" "$lua" "$conns"); yt=$(mb "$(transfer)")
    if [ "$conns" = 4 ]; then d=$dt y=$yt; fi
    ds="$ds $d" ys="$ys $y" rs="$rs $(ratio "$y" "$d")"
  done
  unit="requests/s"; [ "$conns" = 4 ] && unit="MB/s transferred"
  rows+=("| $name (wrk -c$conns, $unit) | $(median <<<"$ds") | $(median <<<"$ys") | $(median <<<"$rs")× |")
  echo "$name: distribution$ds; dockyard$ys; ratios$rs" >>"$WORK/rounds.txt"
done
for method in HEAD GET; do
  ds="" ys="" rs=""
  for _ in $(seq "$REPEAT"); do
    d=$(bench_hey "manifest $method" "$DIST" /v2/bench/img/manifests/1 "$method")
    y=$(bench_hey "manifest $method" "$DY" /v2/bench/img/manifests/1 "$method")
    ds="$ds $d" ys="$ys $y" rs="$rs $(ratio "$y" "$d")"
  done
  rows+=("| manifest $method by tag (hey -c32, requests/s) | $(median <<<"$ds") | $(median <<<"$ys") | $(median <<<"$rs")× |")
  echo "manifest $method (hey): distribution$ds; dockyard$ys; ratios$rs" >>"$WORK/rounds.txt"
done
{
  echo "| Endpoint (median of $REPEAT rounds) | distribution 2.8.2 | dockyard ($DY_WORKERS workers) | dockyard / distribution |"
  echo "|:---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} >"$WORK/wrk.md"

hyperfine --runs "$((RUNS < 10 ? 10 : RUNS))" --warmup 1 --export-markdown "$WORK/blob.md" \
  -n "curl 100 MiB blob (distribution)" "curl -fsS -o /dev/null http://$DIST/v2/bench/big/blobs/$BIG" \
  -n "curl 100 MiB blob (dockyard)" "curl -fsS -o /dev/null http://$DY/v2/bench/big/blobs/$BIG"

hyperfine --runs "$RUNS" --export-markdown "$WORK/push.md" \
  -n "skopeo push (distribution)" --prepare "$WORK/restart.sh dist" \
  "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$WORK/src:bench docker://$DIST/bench/img:1" \
  -n "skopeo push (dockyard)" --prepare "$WORK/restart.sh dy" \
  "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$WORK/src:bench docker://$DY/bench/img:1"

hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/pull.md" \
  -n "skopeo pull (distribution)" --prepare "rm -rf $WORK/out-d" \
  "skopeo copy -q --src-tls-verify=false docker://$DIST/bench/img:1 oci:$WORK/out-d:bench" \
  -n "skopeo pull (dockyard)" --prepare "rm -rf $WORK/out-y" \
  "skopeo copy -q --src-tls-verify=false docker://$DY/bench/img:1 oci:$WORK/out-y:bench"

cat "$WORK/wrk.md"; echo; cat "$WORK/rounds.txt"; echo; cat "$WORK/blob.md"; echo; cat "$WORK/push.md"; echo; cat "$WORK/pull.md"
if [ -n "${KEEP_WRK:-}" ]; then cp "$WORK/wrk.txt" "$KEEP_WRK"; fi
