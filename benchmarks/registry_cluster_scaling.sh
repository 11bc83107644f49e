#!/usr/bin/env bash
# The registry scaled out: 1, 2 and 3 replicas of dockyard's registry on one PostgreSQL, one
# S3 store (SeaweedFS) and one Redis, behind haproxy, side by side in one run with 1, 2 and 3
# replicas of distribution 2.8.2 (Debian's docker-registry) on the same SeaweedFS (its own
# bucket, its own S3 driver, its Redis blob-descriptor cache on the same Redis) behind the same
# haproxy (a second frontend, same settings: round robin, no stickiness, health checks).
#
# Every replica of both is started once; the replica count is the number haproxy sends to
# (the others are in maintenance, idle). Both registries: storage.s3 with the same chunk size
# (10 MiB), `redirect: disable: true` (every byte through the registry), default access
# logging to a file. dockyard runs DY_WORKERS processes per replica (default: one per core, as
# in registry_vs_distribution.sh), distribution one process per replica (using every core). For each replica count, the two alternating:
#   - manifest GET by tag: wrk -t2 -c32, REPEAT rounds, medians (requests/s)
#   - 100 MiB blob GET: wrk -t2 -c4, REPEAT rounds, medians (MB/s transferred)
#   - one curl download of the 100 MiB blob (hyperfine, mean)
#   - skopeo copy push of a fresh ~200 MB image (10 gzip layers of 20 MB random data, each
#     layer given new bytes before each run by lib/fresh_layout.py, so no run can reuse or
#     mount a blob of an earlier one), and pull of the first image into an empty directory
#     (hyperfine, mean)
# and with one replica, manifest GET straight to the replica (no haproxy) as well. During every
# wrk run the CPU each part used is sampled (lib/cpu_during.py): the registry replicas,
# haproxy, weed, postgres, redis, wrk itself, and the whole machine.
# Needs: docker-registry, haproxy, redis-server, postgresql 15, skopeo, wrk, hyperfine, curl.
# Usage: [DY_WORKERS=n] [REPEAT=n] [MAX_REPLICAS=n] [KEEP_RESULTS=file] \
#        benchmarks/registry_cluster_scaling.sh [runs] [wrk-seconds]
set -euo pipefail
source "$(dirname "$0")/lib/registry_bench.sh"
RUNS=${1:-3}
SECONDS_WRK=${2:-10}
REPEAT=${REPEAT:-3}
MAX_REPLICAS=${MAX_REPLICAS:-3}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WRK_TIMEOUT=120s  # a 100 MiB answer may take seconds on a loaded machine; it is not an error
bench_init cluster
chmod 755 "$WORK"  # PostgreSQL runs as the postgres user, in $WORK/pg

# --- the shared servers ------------------------------------------------------------------------
start_seaweed
create_buckets dist-bench dy-bench

PG_PORT=$(free_port)
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C --no-instructions >"$WORK/initdb.log" 2>&1
runuser -u postgres -- "$PG_BIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" \
  -c listen_addresses=127.0.0.1 -c max_connections=200 >"$WORK/postgres.log" 2>&1 &
echo $! >"$WORK/postgres.pid"
for _ in $(seq 200); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" dockyard

REDIS_PORT=$(free_port) REDIS_PASSWORD=bench-redis
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$REDIS_PASSWORD" --save "" \
  --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
echo $! >"$WORK/redis.pid"
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" -a "$REDIS_PASSWORD" --no-auth-warning ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done

# --- the replicas --------------------------------------------------------------------------
s3_section() {  # bucket
  cat <<YML
  s3:
    accesskey: $AK
    secretkey: $SK
    region: us-east-1
    regionendpoint: http://$S3
    forcepathstyle: true
    bucket: $1
    rootdirectory: /bench
    secure: false
    chunksize: 10485760
YML
}
cat >"$WORK/dy.yml" <<YML
version: 0.1
storage:
  delete: {enabled: true}
  redirect: {disable: true}
$(s3_section dy-bench)
database: {url: "postgresql://postgres@127.0.0.1:$PG_PORT/dockyard", pool: 10}
redis: {addr: "127.0.0.1:$REDIS_PORT", password: $REDIS_PASSWORD, db: 0}
YML
"$DOCKYARD" registry migrate -c "$WORK/dy.yml" --root "$WORK/dy-migrate" >"$WORK/migrate.log"

DY_HOSTS=() DIST_HOSTS=() DY_PIDS="" DIST_PIDS=""
for i in $(seq "$MAX_REPLICAS"); do
  host=127.0.0.1:$(free_port)
  "$DOCKYARD" registry serve -c "$WORK/dy.yml" --root "$WORK/dy-$i" --addr "$host" \
    --workers "$DY_WORKERS" >"$WORK/dy-$i.log" 2>&1 &
  echo $! >"$WORK/dy-$i.pid"
  DY_HOSTS+=("$host") DY_PIDS="$DY_PIDS,$!"

  host=127.0.0.1:$(free_port)
  cat >"$WORK/dist-$i.yml" <<YML
version: 0.1
log: {level: info}
http: {addr: $host, secret: bench}
storage:
  delete: {enabled: true}
  redirect: {disable: true}
  cache: {blobdescriptor: redis}
  # 2.8.2's upload purger walks _uploads at a random time after start and panics on
  # SeaweedFS's listing ("index out of range" in the S3 driver's doWalk), killing the replica
  maintenance: {uploadpurging: {enabled: false}}
$(s3_section dist-bench)
redis:
  addr: 127.0.0.1:$REDIS_PORT
  password: $REDIS_PASSWORD
  db: 1
  dialtimeout: 200ms
  readtimeout: 500ms
  writetimeout: 500ms
  pool: {maxidle: 16, maxactive: 64, idletimeout: 300s}
YML
  # distribution's AWS SDK refuses a custom CA bundle with its own HTTP transport (a panic)
  env -u AWS_CA_BUNDLE docker-registry serve "$WORK/dist-$i.yml" >"$WORK/dist-$i.log" 2>&1 &
  echo $! >"$WORK/dist-$i.pid"
  DIST_HOSTS+=("$host") DIST_PIDS="$DIST_PIDS,$!"
done
for h in "${DY_HOSTS[@]}" "${DIST_HOSTS[@]}"; do wait_http "http://$h/v2/" 600; done

# --- haproxy: one frontend per registry, the same settings -----------------------------------
DY=127.0.0.1:$(free_port) DIST=127.0.0.1:$(free_port)
{
  cat <<CFG
global
  stats socket $WORK/haproxy.sock level admin
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 300s
  timeout server 300s
  timeout http-request 60s
  timeout check 5s
  retries 3
  option redispatch 1
frontend dy
  bind $DY
  default_backend dy
frontend dist
  bind $DIST
  default_backend dist
backend dy
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
CFG
  for i in $(seq "$MAX_REPLICAS"); do echo "  server r$i ${DY_HOSTS[$((i - 1))]} check inter 1s fall 3 rise 1"; done
  cat <<CFG
backend dist
  balance roundrobin
  option httpchk GET /v2/
  http-check expect status 200
CFG
  for i in $(seq "$MAX_REPLICAS"); do echo "  server r$i ${DIST_HOSTS[$((i - 1))]} check inter 1s fall 3 rise 1"; done
} >"$WORK/haproxy.cfg"
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
echo $! >"$WORK/haproxy.pid"
HAPROXY_PID=$!
wait_http "http://$DY/v2/" 200
wait_http "http://$DIST/v2/" 200

haproxy_cmd() {
  "$PYTHON" - "$WORK/haproxy.sock" "$1" <<'PY'
import socket, sys
with socket.socket(socket.AF_UNIX) as s:
    s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
    out = b""
    while chunk := s.recv(65536):
        out += chunk
print(out.decode(), end="")
PY
}
# use_replicas N: haproxy sends to r1..rN of both backends (the others in maintenance)
use_replicas() {
  local i state backend
  for backend in dy dist; do
    for i in $(seq "$MAX_REPLICAS"); do
      state=ready; [ "$i" -le "$1" ] || state=maint
      haproxy_cmd "set server $backend/r$i state $state" >/dev/null
    done
  done
  for _ in $(seq 100); do  # until haproxy's health checks have them all UP again
    [ "$(haproxy_cmd "show stat" | awk -F, '$2 ~ /^r[0-9]+$/ && $18 == "UP"' | wc -l)" = $(($1 * 2)) ] && return 0
    sleep 0.1
  done
  echo "haproxy did not bring $1 replicas of each up" >&2; haproxy_cmd "show stat" >&2; return 1
}

# --- content -------------------------------------------------------------------------------
make_image
# push.sh WHICH: a fresh image into $WORK/fresh (prepared outside the timing); push.sh WHICH go:
# push it to that registry's balancer, into a repository of its own
cat >"$WORK/push.sh" <<'SH'
#!/usr/bin/env bash
set -eu
if [ "${2:-}" = go ]; then
  host=$([ "$1" = dist ] && echo "$DIST" || echo "$DY")
  n=$(cat "$WORK/push-count")
  exec skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$WORK/fresh:bench" \
    "docker://$host/bench/push$n:1"
fi
"$PYTHON" benchmarks/lib/fresh_layout.py "$WORK/src" "$WORK/fresh"
echo $(( $(cat "$WORK/push-count" 2>/dev/null || echo 0) + 1 )) >"$WORK/push-count"
SH
chmod +x "$WORK/push.sh"
export DY DIST
for h in "$DIST" "$DY"; do
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$WORK/src:bench" "docker://$h/bench/img:1"
  push_blob "$h"
done
write_get_lua

# --- measurements --------------------------------------------------------------------------
cpu_groups() {  # the process groups cpu_during.py samples, for registry $1
  local pids
  if [ "$1" = dy ]; then pids=$DY_PIDS; else pids=$DIST_PIDS; fi
  echo "$1=${pids#,} haproxy=$HAPROXY_PID weed=$(cat "$WORK/weed.pid") postgres=$(cat "$WORK/postgres.pid") redis=$(cat "$WORK/redis.pid")"
}
# measure LABEL PATH CONNECTIONS DIST_HOST DY_HOST: REPEAT alternating wrk rounds; one table row
# The last column divides each side by the CPU its replicas got during the run (the machine
# may be shared: what a registry does per CPU-second it was given).
measure() {
  local label=$1 path=$2 conns=$3 ds="" ys="" rs="" cs="" d y dc yc v c host which _
  for _ in $(seq "$REPEAT"); do
    for which in dist dy; do
      BENCH_WRAP="$PYTHON benchmarks/lib/cpu_during.py $WORK/cpu-$which.txt $(cpu_groups "$which") --"
      if [ "$which" = dist ]; then host=$4; else host=$5; fi
      v=$(BENCH_WRAP=$BENCH_WRAP bench_wrk "$label" "$host" "$path" GET "$conns")
      if [ "$conns" = 4 ]; then v=$(mb "$(transfer)"); fi
      c=$(tail -n 1 "$WORK/cpu-$which.txt" | sed -E "s/^$which ([0-9]+)%.*/\1/")
      if [ "$which" = dist ]; then d=$v dc=$c ds="$ds $d"; else y=$v yc=$c ys="$ys $y"; fi
      echo "$label, $which: $v; cpu: $(tail -n 1 "$WORK/cpu-$which.txt")" >>"$WORK/rounds.txt"
    done
    rs="$rs $(ratio "$y" "$d")"
    cs="$cs $(awk -v y="$y" -v d="$d" -v yc="$yc" -v dc="$dc" 'BEGIN {printf "%.2f", (y / (yc + 0.5)) / (d / (dc + 0.5))}')"
  done
  echo "| $label | $(median <<<"$ds") | $(median <<<"$ys") | $(median <<<"$rs")× | $(median <<<"$cs")× |" >>"$WORK/table.md"
  echo "$label: ratios$rs; per registry CPU-second$cs" >>"$WORK/rounds.txt"
}
hyper_pair() {  # LABEL FILE DIST_CMD DY_CMD [hyperfine options...]: one row of mean times
  local label=$1 file=$2 dcmd=$3 ycmd=$4
  shift 4
  hyperfine --runs "$RUNS" --export-json "$WORK/$file.json" "$@" -n dist "$dcmd" -n dy "$ycmd" >/dev/null
  "$PYTHON" - "$WORK/$file.json" "$label" >>"$WORK/table.md" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
d, y = r["dist"], r["dy"]
cell = lambda x: f"{x['mean']:.2f} s ± {x['stddev'] or 0:.2f}"
print(f"| {sys.argv[2]} | {cell(d)} | {cell(y)} | {y['mean'] / d['mean']:.2f}× the time | |")
PY
}

{
  echo "| measurement | distribution 2.8.2 | dockyard ($DY_WORKERS worker(s) per replica) | dockyard / distribution | the same, per registry CPU-second |"
  echo "|:---|---:|---:|---:|---:|"
} >"$WORK/table.md"
for h in "$DIST" "$DY"; do  # every replica caches the manifest
  for _ in $(seq $((MAX_REPLICAS * 3))); do curl -fsS -H "Accept: $ACCEPT" -o /dev/null "http://$h/v2/bench/img/manifests/1"; done
done
for n in $(seq "$MAX_REPLICAS"); do
  use_replicas "$n"
  echo "replicas: $n (load average $(cut -d' ' -f1-3 /proc/loadavg))" >>"$WORK/rounds.txt"
  if [ "$n" = 1 ]; then
    measure "1 replica, no haproxy: manifest GET by tag (wrk -c32, requests/s)" \
      /v2/bench/img/manifests/1 32 "${DIST_HOSTS[0]}" "${DY_HOSTS[0]}"
  fi
  measure "$n replica(s): manifest GET by tag (wrk -c32, requests/s)" /v2/bench/img/manifests/1 32 "$DIST" "$DY"
  measure "$n replica(s): 100 MiB blob GET (wrk -c4, MB/s transferred)" "/v2/bench/big/blobs/$BIG" 4 "$DIST" "$DY"
  hyper_pair "$n replica(s): curl of one 100 MiB blob" "curl-$n" \
    "curl -fsS -o /dev/null http://$DIST/v2/bench/big/blobs/$BIG" \
    "curl -fsS -o /dev/null http://$DY/v2/bench/big/blobs/$BIG" --warmup 1
  hyper_pair "$n replica(s): skopeo push, fresh ~200 MB image" "push-$n" \
    "$WORK/push.sh dist go" "$WORK/push.sh dy go" --prepare "$WORK/push.sh prepare"
  hyper_pair "$n replica(s): skopeo pull, ~200 MB image" "pull-$n" \
    "skopeo copy -q --src-tls-verify=false docker://$DIST/bench/img:1 oci:$WORK/out:bench" \
    "skopeo copy -q --src-tls-verify=false docker://$DY/bench/img:1 oci:$WORK/out:bench" \
    --prepare "rm -rf $WORK/out"
done

{
  cat "$WORK/table.md"
  echo
  echo "Rounds and CPU (% of one core, averaged over each wrk run; machine: all cores):"
  echo
  sed 's/^/    /' "$WORK/rounds.txt"
} | tee "$WORK/results.md"
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$WORK/results.md" "$KEEP_RESULTS"; fi
