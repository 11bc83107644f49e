#!/usr/bin/env bash
# Authenticated manifest GETs: dockyard with bearer tokens from its own token service vs
# distribution 2.8 (Debian's docker-registry) with htpasswd auth, side by side in one run:
#   - cached manifest GET by tag, a valid `Authorization: Bearer <token>` on every request
#     (dockyard) vs `Authorization: Basic …` (distribution, bcrypt cost 5 as htpasswd -B makes)
#     (wrk, 32 connections, REPEAT rounds alternating, medians)
#   - the token endpoint: GET /service/token with Basic credentials and one scope (hey, 32 workers)
#   - a login's latency, as `docker login` does it: GET /v2/ → 401 → (token →) GET /v2/ with the
#     credentials (hyperfine over benchmarks/_registry_login.sh, a curl script), both registries
# DY_AUTH picks dockyard's access mode:
#   projects (default): REGISTRY_AUTH=projects (Harbor's access model): the first admin from
#     DOCKYARD_ADMIN_PASSWORD; a user, a private project and the user's developer membership
#     made through /api/v2.0; password hashes at bcrypt cost 5 (auth.projects.passwordcost)
#   token: REGISTRY_AUTH=htpasswd with its token service (auth.htpasswd.token), same htpasswd
#     file as distribution
# Both registries: filesystem storage in a fresh temp dir, 127.0.0.1 on a free port, access log
# to a file; the image pushed with skopeo. distribution uses every core (Go); dockyard runs
# DY_WORKERS processes. Every process started here is stopped on exit.
# Needs: docker-registry, skopeo, wrk, hey, hyperfine, htpasswd, curl, jq-free (python for JSON).
# Usage: [DY_AUTH=projects|token] [DY_WORKERS=n] [REPEAT=n] [LOGIN_RUNS=n]
#        benchmarks/registry_token_auth.sh [wrk-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_WRK=${1:-10}
REPEAT=${REPEAT:-3}
LOGIN_RUNS=${LOGIN_RUNS:-30}
DY_AUTH=${DY_AUTH:-projects}
case "$DY_AUTH" in
  projects | token) ;;
  *) echo "DY_AUTH must be projects or token, not '$DY_AUTH'" >&2; exit 2 ;;
esac
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
trap 'exit 130' INT TERM
# the long measurements run in the background and are waited for, so that an interrupt stops
# them (and the registries) at once rather than after the measurement
run() {
  local rc=0
  "$@" & echo $! >"$WORK/load.pid"
  wait $! || rc=$?
  rm -f "$WORK/load.pid"
  return $rc
}

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIST=127.0.0.1:$(free_port)
DY=127.0.0.1:$(free_port)
# the password meets Harbor's rule (8+ characters, upper and lower case, a digit)
USER=bench PASS=Bench-secret-1 SERVICE=dockyard-bench ADMIN_PASS=Bench-admin-1
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
if [ "$DY_AUTH" = projects ]; then
  DOCKYARD_ADMIN_PASSWORD=$ADMIN_PASS REGISTRY_AUTH=projects \
  REGISTRY_AUTH_PROJECTS_SERVICE=$SERVICE REGISTRY_AUTH_PROJECTS_PASSWORDCOST=5 \
    "$DOCKYARD" registry serve --root "$WORK/dy-data" --addr "$DY" --workers "$DY_WORKERS" \
    >>"$WORK/dy.log" 2>&1 &
else
  REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM=bench \
  REGISTRY_AUTH_HTPASSWD_PATH="$WORK/htpasswd" REGISTRY_AUTH_HTPASSWD_TOKEN_SERVICE=$SERVICE \
    "$DOCKYARD" registry serve --root "$WORK/dy-data" --addr "$DY" --workers "$DY_WORKERS" \
    >>"$WORK/dy.log" 2>&1 &
fi
echo $! >"$WORK/dy.pid"
for h in "$DIST" "$DY"; do
  for _ in $(seq 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$h/v2/" || true)
    [ "$code" = 401 ] && break; sleep 0.05
  done
  if [ "$code" != 401 ]; then
    echo "registry on $h did not answer GET /v2/ with 401 (last: $code); logs:" >&2
    cat "$WORK/dist.log" "$WORK/dy.log" >&2; exit 1
  fi
done

api() {  # method path json: /api/v2.0 as dockyard's admin, fails on an error status
  curl -fsS -X "$1" -u "admin:$ADMIN_PASS" -H "Content-Type: application/json" -d "$3" \
    -o /dev/null "http://$DY/api/v2.0$2"
}
if [ "$DY_AUTH" = projects ]; then  # the user, a private project, the user a developer in it
  api POST /users "{\"username\": \"$USER\", \"password\": \"$PASS\",
    \"email\": \"$USER@example.org\", \"realname\": \"Bench User\"}"
  api POST /projects '{"project_name": "bench", "public": false}'
  api POST /projects/bench/members "{\"role_id\": 2, \"member_user\": {\"username\": \"$USER\"}}"
fi

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

# a token for dockyard (valid 5 minutes with DY_AUTH=token, 30 with projects: longer than the
# run's measurements)
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

bench_wrk() {  # name host lua: sets RPS
  local out
  run wrk -t2 -c32 -d"${SECONDS_WRK}s" -s "$WORK/$3.lua" "http://$2/v2/bench/img/manifests/1" \
    >"$WORK/wrk.out"
  out=$(cat "$WORK/wrk.out")
  # distribution's bcrypt per request can make a few requests outlast wrk's 2 s timeout:
  # those are counted as not served; any non-2xx answer or connection error fails the run
  if echo "$out" | grep -q -e "Non-2xx" -e "Socket errors: connect [1-9]" -e "read [1-9]"; then
    echo "$1 on $2 had errors:" >&2; echo "$out" >&2; exit 1
  fi
  RPS=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  [ -n "$RPS" ] || { echo "$1 on $2: no Requests/sec from wrk:" >&2; echo "$out" >&2; exit 1; }
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

for h in dist dy; do  # warm up (every dockyard worker caches the manifest and the token)
  for _ in $(seq 8); do
    if [ $h = dist ]; then a="Basic $BASIC" host=$DIST; else a="Bearer $TOKEN" host=$DY; fi
    curl -fsS -H "Accept: $ACCEPT" -H "Authorization: $a" -o /dev/null "http://$host/v2/bench/img/manifests/1"
  done
done
# auth is enforced on both: the same GET without credentials is refused
for host in "$DIST" "$DY"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $ACCEPT" \
    "http://$host/v2/bench/img/manifests/1")
  [ "$code" = 401 ] || { echo "anonymous manifest GET on $host answered $code, not 401" >&2; exit 1; }
done
ds="" ys="" rs=""
for _ in $(seq "$REPEAT"); do
  bench_wrk "distribution" "$DIST" dist; d=$RPS
  bench_wrk "dockyard" "$DY" dy; y=$RPS
  ds="$ds $d" ys="$ys $y" rs="$rs $(ratio "$y" "$d")"
done
run hey -z "${SECONDS_WRK}s" -c 32 -H "Authorization: Basic $BASIC" \
  "http://$DY/service/token?service=$SERVICE&scope=repository:bench/img:pull" >"$WORK/hey.out"
out=$(cat "$WORK/hey.out")
if ! echo "$out" | grep -q "^  \[200\]" || echo "$out" | grep -q -e "^  \[[13-5]" -e "Error distribution"; then
  echo "token endpoint had errors:" >&2; echo "$out" >&2; exit 1
fi
tokens=$(echo "$out" | awk '/Requests\/sec/ {print $2}')

# a login's latency (each run: a new curl per request, as a new `docker login` process would)
LOGIN="bash benchmarks/_registry_login.sh"
run hyperfine -N --style none --warmup 3 --runs "$LOGIN_RUNS" --export-json "$WORK/login.json" \
  -n distribution "$LOGIN $DIST $USER $PASS" -n dockyard "$LOGIN $DY $USER $PASS" >/dev/null
login_ms() {  # name: "median (mean ± stddev)" in ms
  "$PYTHON" - "$WORK/login.json" "$1" <<'PY2'
import json, sys
r = next(r for r in json.load(open(sys.argv[1]))["results"] if r["command"] == sys.argv[2])
print(f"{r['median'] * 1e3:.1f} ms ({r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f})")
PY2
}

echo
echo "| authenticated request (wrk -c32 / hey -c32, requests/s, median of $REPEAT) | distribution 2.8 (htpasswd) | dockyard (auth: $DY_AUTH, bearer token, $DY_WORKERS workers) | ratio |"
echo "|---|---|---|---|"
echo "| cached manifest GET by tag | $(median <<<"$ds") | $(median <<<"$ys") | $(median <<<"$rs")× |"
echo "| token endpoint GET /service/token (Basic, one scope) | — | $tokens | — |"
echo "| login: GET /v2/ → 401 → (token →) GET /v2/ (hyperfine, $LOGIN_RUNS runs, median (mean ± σ)) | $(login_ms distribution) | $(login_ms dockyard) | — |"
echo "rounds: distribution$ds; dockyard$ys; ratios$rs" >&2
