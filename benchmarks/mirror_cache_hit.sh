#!/usr/bin/env bash
# Pull-through cache hits: dockyard's mirror vs distribution 2.8.2 (Debian's docker-registry) in
# proxy mode, side by side in one run (issue 17, "What must be shown", point 4: goal ≤ 1.0×).
#   - upstream: docker-registry with token auth, its tokens issued by `dockyard registry serve`
#     (htpasswd file, bcrypt, and its token service: distribution 2.8.2's proxy cannot log in to
#     a Basic upstream, see below), holding one image of LAYERS gzip layers of LAYER_MB MB random
#     data each (default 4 × 20 MB), pushed with skopeo
#   - two mirrors in front of it, same credentials: `dockyard registry serve` with registry:2's
#     `proxy:` section (ttl 10m) and docker-registry with `proxy.remoteurl/username/password`;
#     filesystem storage in fresh temp dirs, 127.0.0.1 on free ports, default access logging
#   - each mirror's cache is warmed with one whole pull, then hyperfine times the cache-hit
#     pull of the whole image (skopeo copy to a fresh oci: dir each run), the two mirrors
#     alternating run by run (one-run hyperfines in rounds: hyperfine itself would do all runs
#     of one command before the other's)
#   - the upstream's (and the token service's) access log counts what each mirror asked during
#     its hit runs
# distribution uses every core (Go); dockyard runs DY_WORKERS processes (default: one per core).
# Needs: docker-registry, skopeo, hyperfine, curl.
# Usage: [DY_WORKERS=n] [LAYERS=n] [LAYER_MB=n] benchmarks/mirror_cache_hit.sh [runs]
set -euo pipefail
source "$(dirname "$0")/lib/registry_bench.sh"
RUNS=${1:-10}
LAYERS=${LAYERS:-4}
LAYER_MB=${LAYER_MB:-20}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
bench_init mirror
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
UP=127.0.0.1:$(free_port)
DIST=127.0.0.1:$(free_port)
DY=127.0.0.1:$(free_port)
USER_=bench PASS=bench-pass
export UP DIST DY

# the image: an OCI layout of LAYERS gzip layers of LAYER_MB MB random data (level 1)
"$PYTHON" - "$WORK/src" "$LAYERS" "$LAYER_MB" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
from pathlib import Path
root, count, mb = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
blobs = root / "blobs" / "sha256"
blobs.mkdir(parents=True)
def put(data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}
layers, diff_ids = [], []
for i in range(count):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        payload = os.urandom(mb * 1_000_000)
        info = tarfile.TarInfo(f"layer{i}.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    diff_ids.append("sha256:" + hashlib.sha256(buf.getvalue()).hexdigest())
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   **put(gzip.compress(buf.getvalue(), compresslevel=1, mtime=0))})
config = {"architecture": "amd64", "os": "linux",
          "rootfs": {"type": "layers", "diff_ids": diff_ids}}
mt = "application/vnd.oci.image.manifest.v1+json"
manifest = {"schemaVersion": 2, "mediaType": mt,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       **put(json.dumps(config).encode())}, "layers": layers}
entry = {"mediaType": mt, **put(json.dumps(manifest).encode()),
         "annotations": {"org.opencontainers.image.ref.name": "bench"}}
(root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
(root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
PY
du -sh "$WORK/src"

# the upstream: distribution with token auth, its tokens from dockyard's token service over an
# htpasswd file (bcrypt). distribution 2.8.2's proxy sends its credentials only to Bearer realms
# (it collects the realms of the upstream's Bearer challenges at start-up): behind a plain
# `auth: htpasswd` (Basic) upstream it pulls nothing ("manifest unknown"), so the upstream
# asks for tokens, as Docker Hub does. Both keep an access log.
"$DOCKYARD" htpasswd -Bbc "$WORK/htpasswd" "$USER_" "$PASS" >/dev/null
mkdir -p "$WORK/up-data" "$WORK/dist-data" "$WORK/dy-data" "$WORK/tok-data"
TOK=127.0.0.1:$(free_port)
REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM=bench \
REGISTRY_AUTH_HTPASSWD_PATH="$WORK/htpasswd" REGISTRY_AUTH_HTPASSWD_TOKEN_SERVICE=bench-upstream \
REGISTRY_AUTH_HTPASSWD_TOKEN_ISSUER=bench-issuer \
  "$DOCKYARD" registry serve --root "$WORK/tok-data" --addr "$TOK" >"$WORK/tok.log" 2>&1 &
echo $! >"$WORK/tok.pid"
wait_401() {  # host: until /v2/ asks for credentials
  local _
  for _ in $(seq 400); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/")" = 401 ] && return 0
    sleep 0.05
  done
  echo "no 401 from http://$1/v2/" >&2
  return 1
}
wait_401 "$TOK"
cat >"$WORK/up.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/up-data}}
http: {addr: $UP, secret: bench}
auth:
  token: {realm: "http://$TOK/service/token", service: bench-upstream, issuer: bench-issuer,
          rootcertbundle: $WORK/tok-data/token/signing-cert.pem}
YML
docker-registry serve "$WORK/up.yml" >"$WORK/up.log" 2>&1 &
echo $! >"$WORK/up.pid"
wait_401 "$UP"
skopeo copy -q --preserve-digests --dest-tls-verify=false --dest-creds "$USER_:$PASS" \
  "oci:$WORK/src:bench" "docker://$UP/bench/img:1"

# the mirrors
cat >"$WORK/dist.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/dist-data}}
http: {addr: $DIST, secret: bench}
proxy: {remoteurl: "http://$UP", username: $USER_, password: $PASS}
YML
docker-registry serve "$WORK/dist.yml" >"$WORK/dist.log" 2>&1 &
echo $! >"$WORK/dist.pid"
cat >"$WORK/dy.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $WORK/dy-data}}
http: {addr: $DY, workers: $DY_WORKERS}
proxy: {remoteurl: "http://$UP", username: $USER_, password: $PASS, ttl: 10m}
YML
"$DOCKYARD" registry serve "$WORK/dy.yml" >"$WORK/dy.log" 2>&1 &
echo $! >"$WORK/dy.pid"
wait_http "http://$DIST/v2/"
wait_http "http://$DY/v2/"

# upstream requests so far: lines of the upstream's access log naming a /v2/ path, and of the
# token service's naming /service/token
up_requests() { grep -c '"[A-Z]* /v2/' "$WORK/up.log" || true; }
tok_requests() { grep -c '"GET /service/token' "$WORK/tok.log" || true; }
pull() {  # host dir
  skopeo copy -q --src-tls-verify=false "docker://$1/bench/img:1" "oci:$2:bench"
}

# warm both caches with one pull each. dockyard keeps a tag's freshness per worker process, so
# each of its workers asks the upstream once (a HEAD) for its first request of the tag: 16
# manifest GETs on fresh connections (the kernel spreads them over the workers) warm them all
n0=$(up_requests); pull "$DIST" "$WORK/warm-d"; n1=$(up_requests)
pull "$DY" "$WORK/warm-y"
for _ in $(seq 16); do
  curl -fsS -o /dev/null -H "Accept: $ACCEPT" "http://$DY/v2/bench/img/manifests/1"
done
sleep 0.2; n2=$(up_requests)
rm -rf "$WORK"/warm-*

# the CPU time (user + system, clock ticks) a server's processes have used so far: the
# registry's own cost of a pull, which the other engineers' load on a shared host does not change
# as much as the wall time
cpu_ticks() {  # pid: that process and its children (dockyard's workers)
  local p t=0 f
  for p in "$1" $(pgrep -P "$1"); do
    read -ra f <"/proc/$p/stat"
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
# hyperfine runs all runs of one command before the next; to alternate, RUNS rounds of one-run
# hyperfines (JSON export) into a fresh directory, distribution first in odd rounds and dockyard
# first in even ones (the previous pull's writeback falls on each alike); the upstream's access
# log lines written during each run are counted (nothing else talks to it)
for r in $(seq "$RUNS"); do
  order="dist dy"; [ $((r % 2)) = 0 ] && order="dy dist"
  for which in $order; do
    host=$DIST; [ "$which" = dy ] && host=$DY
    before=$(up_requests) tbefore=$(tok_requests) cbefore=$(cpu_ticks "$(cat "$WORK/$which.pid")")
    hyperfine -N --runs 1 --style none --export-json "$WORK/$which-$r.json" \
      --prepare "rm -rf $WORK/out-$which" \
      "skopeo copy -q --src-tls-verify=false docker://$host/bench/img:1 oci:$WORK/out-$which:bench" \
      >/dev/null
    echo $(($(cpu_ticks "$(cat "$WORK/$which.pid")") - cbefore)) >>"$WORK/$which.cpu"
    sleep 0.2  # a late upstream request's log line
    echo $(($(up_requests) - before)) >>"$WORK/$which.upstream"
    echo $(($(tok_requests) - tbefore)) >>"$WORK/$which.tokens"
  done
done
summary() {  # which → "mean sd median min max" (seconds)
  "$PYTHON" - "$WORK" "$1" "$RUNS" <<'PY'
import json, statistics, sys
work, which, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = [json.load(open(f"{work}/{which}-{r}.json"))["results"][0]["times"][0]
     for r in range(1, runs + 1)]
print(f"{statistics.mean(t):.3f} {statistics.stdev(t):.3f} {statistics.median(t):.3f} {min(t):.3f} {max(t):.3f}")
PY
}
paired() {  # the median of the rounds' dockyard / distribution ratios
  "$PYTHON" - "$WORK" "$RUNS" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def t(which: str, r: int) -> float:
    return json.load(open(f"{work}/{which}-{r}.json"))["results"][0]["times"][0]
print(f"{statistics.median(t('dy', r) / t('dist', r) for r in range(1, runs + 1)):.2f}")
PY
}
read -r dm ds dmed dmin dmax <<<"$(summary dist)"
read -r ym ys ymed ymin ymax <<<"$(summary dy)"
sum() { awk '{s += $1} END {print s + 0}' "$1"; }
spread() {  # "min–max per run" (or "n per run" when every run made as many)
  sort -n "$1" | awk 'NR == 1 {lo = $1} {hi = $1} END {print (lo == hi ? lo : lo "–" hi) " per run"}'
}
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.0f", s * 1000 / hz / NR}' "$WORK/$1.cpu"; }
{
  echo "| cache-hit pull, $(du -sh "$WORK/src" | cut -f1) image, $RUNS runs alternating | mean ± σ (s) | median (s) | min … max (s) | server CPU per pull (ms) | upstream requests during the hit runs | token requests |"
  echo "|:---|---:|---:|---:|---:|---:|---:|"
  echo "| docker-registry 2.8.2 proxy | $dm ± $ds | $dmed | $dmin … $dmax | $(cpu_ms dist) | $(sum "$WORK/dist.upstream") ($(spread "$WORK/dist.upstream")) | $(sum "$WORK/dist.tokens") |"
  echo "| dockyard mirror ($DY_WORKERS workers) | $ym ± $ys | $ymed | $ymin … $ymax | $(cpu_ms dy) | $(sum "$WORK/dy.upstream") ($(spread "$WORK/dy.upstream")) | $(sum "$WORK/dy.tokens") |"
  echo
  echo "dockyard / distribution: means $(ratio "$ym" "$dm")×, medians $(ratio "$ymed" "$dmed")×, median of the $RUNS rounds' ratios $(paired)×"
  echo "the warm-up asked the upstream: distribution $((n1 - n0)) requests (one pull), dockyard $((n2 - n1)) (one pull and 16 manifest GETs)"
  echo "load average at the start: $LOAD_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$WORK/result.md"
echo
echo "upstream requests by method and path kind during the whole run:"
grep -o '"[A-Z]* /v2/[^ ]*' "$WORK/up.log" | sed -E 's#/v2/[^ ]*/(manifests|blobs)/.*#\1#; s#^"##' |
  sort | uniq -c
