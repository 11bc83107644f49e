#!/usr/bin/env bash
# Authenticated manifest GETs: dockyard with bearer tokens from its own token service vs
# distribution 2.8 (Debian's docker-registry) with htpasswd auth, side by side in one run:
#   - cached manifest GET by tag, a valid `Authorization: Bearer <token>` on every request
#     (dockyard) vs `Authorization: Basic …` (distribution, bcrypt cost 5 as htpasswd -B makes)
#     (wrk, 32 connections, REPEAT rounds alternating, medians)
#   - the token endpoint: GET /service/token with Basic credentials and one scope (hey, 32 workers)
# Both registries: filesystem storage in a fresh temp dir, 127.0.0.1 on a free port, access log
# to a file. distribution uses every core (Go); dockyard runs DY_WORKERS processes.
# Needs: docker-registry, skopeo, wrk, hey, htpasswd, curl, jq-free (python for JSON).
# Usage: [DY_WORKERS=n] [REPEAT=n] benchmarks/registry_token_auth.sh [wrk-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_WRK=${1:-10}
REPEAT=${REPEAT:-3}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
"$PYTHON" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-tokbench-XXXXXX")
cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIST=127.0.0.1:$(free_port)
DY=127.0.0.1:$(free_port)
USER=bench PASS=bench-secret SERVICE=dockyard-bench
htpasswd -Bbn -C 5 "$USER" "$PASS" >"$WORK/htpasswd"

cat >"$WORK/dist.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/dist-data}, delete: {enabled: true}}
http: {addr: $DIST, secret: bench}
auth: {htpasswd: {realm: bench, path: $WORK/htpasswd}}
YML
docker-registry serve "$WORK/dist.yml" >>"$WORK/dist.log" 2>&1 &
echo $! >"$WORK/dist.pid"
REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM=bench \
REGISTRY_AUTH_HTPASSWD_PATH="$WORK/htpasswd" REGISTRY_AUTH_HTPASSWD_TOKEN_SERVICE=$SERVICE \
  "$DOCKYARD" registry serve --root "$WORK/dy-data" --addr "$DY" --workers "$DY_WORKERS" \
  >>"$WORK/dy.log" 2>&1 &
echo $! >"$WORK/dy.pid"
for h in "$DIST" "$DY"; do
  for _ in $(seq 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$h/v2/" || true)
    [ "$code" = 401 ] && break; sleep 0.05
  done
done

# a small image in both (skopeo logs in through each registry's own scheme)
mkdir -p "$WORK/img"
"$PYTHON" - "$WORK/img" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
    open(f"{root}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": f"sha256:{d}", "size": len(data)}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    info = tarfile.TarInfo("hello.txt"); payload = b"hello\n"; info.size = len(payload)
    t.addfile(info, io.BytesIO(payload))
raw = buf.getvalue()
layer = blob(gzip.compress(raw, mtime=0))
config = blob(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode())
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
open(f"{root}/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
     "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))
PY
for h in "$DIST" "$DY"; do
  skopeo copy -q --dest-tls-verify=false --dest-creds "$USER:$PASS" "oci:$WORK/img:bench" \
    "docker://$h/bench/img:1"
done

# a token for dockyard (valid 5 minutes: longer than the run's measurements)
TOKEN=$(curl -fsS -u "$USER:$PASS" \
  "http://$DY/service/token?service=$SERVICE&scope=repository:bench/img:pull" |
  "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
BASIC=$(printf '%s:%s' "$USER" "$PASS" | base64 -w0)
ACCEPT="application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"
cat >"$WORK/dist.lua" <<LUA
wrk.headers["Accept"] = "$ACCEPT"
wrk.headers["Authorization"] = "Basic $BASIC"
LUA
cat >"$WORK/dy.lua" <<LUA
wrk.headers["Accept"] = "$ACCEPT"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

bench_wrk() {  # name host lua
  local out
  out=$(wrk -t2 -c32 -d"${SECONDS_WRK}s" -s "$WORK/$3.lua" "http://$2/v2/bench/img/manifests/1")
  echo "$out" >>"$WORK/wrk.txt"
  # distribution's bcrypt per request can make a few requests outlast wrk's 2 s timeout:
  # those are counted as not served; any non-2xx answer or connection error fails the run
  if echo "$out" | grep -q -e "Non-2xx" -e "Socket errors: connect [1-9]" -e "read [1-9]"; then
    echo "$1 on $2 had errors:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$out" | awk '/^Requests\/sec/ {print $2}'
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

for h in dist dy; do  # warm up (every dockyard worker caches the manifest and the token)
  for _ in $(seq 8); do
    if [ $h = dist ]; then a="Basic $BASIC" host=$DIST; else a="Bearer $TOKEN" host=$DY; fi
    curl -fsS -H "Accept: $ACCEPT" -H "Authorization: $a" -o /dev/null "http://$host/v2/bench/img/manifests/1"
  done
done
ds="" ys="" rs=""
for _ in $(seq "$REPEAT"); do
  d=$(bench_wrk "distribution" "$DIST" dist)
  y=$(bench_wrk "dockyard" "$DY" dy)
  ds="$ds $d" ys="$ys $y" rs="$rs $(ratio "$y" "$d")"
done
out=$(hey -z "${SECONDS_WRK}s" -c 32 -H "Authorization: Basic $BASIC" \
  "http://$DY/service/token?service=$SERVICE&scope=repository:bench/img:pull")
if ! echo "$out" | grep -q "^  \[200\]" || echo "$out" | grep -q -e "^  \[[13-5]" -e "Error distribution"; then
  echo "token endpoint had errors:" >&2; echo "$out" >&2; exit 1
fi
tokens=$(echo "$out" | awk '/Requests\/sec/ {print $2}')

echo
echo "| authenticated request (wrk -c32 / hey -c32, requests/s, median of $REPEAT) | distribution 2.8 (htpasswd) | dockyard (bearer token, $DY_WORKERS workers) | ratio |"
echo "|---|---|---|---|"
echo "| cached manifest GET by tag | $(median <<<"$ds") | $(median <<<"$ys") | $(median <<<"$rs")× |"
echo "| token endpoint GET /service/token (Basic, one scope) | — | $tokens | — |"
echo "rounds: distribution$ds; dockyard$ys; ratios$rs" >&2
