# Shared scaffolding of the registry benchmarks (sourced, not run):
#   registry_vs_distribution.sh, registry_s3_vs_distribution.sh, registry_cluster_scaling.sh.
# bench_init makes $WORK (removed on exit unless KEEP_WORK is set) and stops every process
# whose pid it finds in $WORK/*.pid on exit (SIGKILL for the names in BENCH_KILL9, SIGTERM for
# the others). The helpers below print their result on stdout and fail the script on errors.
# shellcheck shell=bash

# bench_init NAME: cd to the checkout, set DOCKYARD/PYTHON/WEED, compile the sources once (an
# installed wheel has its bytecode compiled at install time; a checkout's editable install writes
# it on first use, or never when PYTHONDONTWRITEBYTECODE is set), make $WORK.
bench_init() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
  PYTHON=${PYTHON:-$PWD/.venv/bin/python}
  WEED=${WEED:-$PWD/.venv/bin/weed}
  "$PYTHON" -m compileall -q src >/dev/null
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-$1-XXXXXX")
  BENCH_KILL9=${BENCH_KILL9:-weed}
  export WORK DOCKYARD PYTHON WEED
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local f name pid
  for f in "$WORK"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid) pid=$(cat "$f")
    if [[ " $BENCH_KILL9 " == *" $name "* ]]; then
      kill -9 "$pid" 2>/dev/null || true
    else
      kill "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL [tries]: until URL answers 2xx (every 0.05 s), else fail
wait_http() {
  local _
  for _ in $(seq "${2:-400}"); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "$1 did not answer" >&2
  return 1
}

# --- SeaweedFS (S3) ------------------------------------------------------------------------

# start_seaweed: one `weed server -s3` in $WORK/weed on pinned free ports; sets S3 (host:port),
# AK and SK. weed ignores SIGTERM while starting, so it is stopped with SIGKILL. Volumes: as
# many as the disk holds (weed's default of 8 runs out with a few buckets: "no writable
# volumes"), of at most 1 GiB each.
start_seaweed() {
  AK=bench SK=bench-secret-key
  cat >"$WORK/s3.json" <<JSON
{"identities": [{"name": "bench", "credentials": [{"accessKey": "$AK", "secretKey": "$SK"}],
                 "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
  mkdir -p "$WORK/weed"
  S3=127.0.0.1:$(free_port)
  "$WEED" server -s3 -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$WORK/weed" \
    -master.port="$(free_port)" -master.port.grpc="$(free_port)" \
    -volume.port="$(free_port)" -volume.port.grpc="$(free_port)" \
    -filer.port="$(free_port)" -filer.port.grpc="$(free_port)" \
    -s3.port="${S3#*:}" -s3.port.grpc="$(free_port)" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$WORK/s3.json" -volume.max=0 -master.volumeSizeLimitMB=1024 \
    >"$WORK/weed.log" 2>&1 &
  echo $! >"$WORK/weed.pid"
  local _
  for _ in $(seq 600); do curl -s "http://$S3/" 2>/dev/null | grep -q '<' && break; sleep 0.1; done
  export S3 AK SK
}

# create_buckets NAME...: on $S3
create_buckets() {
  "$PYTHON" - "$S3" "$AK" "$SK" "$@" <<'PY'
import asyncio, sys
from aiobotocore.session import get_session
async def main(endpoint, ak, sk, *buckets):
    async with get_session().create_client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
                                           aws_access_key_id=ak, aws_secret_access_key=sk) as c:
        for bucket in buckets:
            await c.create_bucket(Bucket=bucket)
asyncio.run(main(*sys.argv[1:]))
PY
}

# --- the test image --------------------------------------------------------------------------

# make_image: $WORK/src (OCI layout, 10 gzip layers of 20 MB random data) and $WORK/big.bin
# (100 MiB random); sets BIG to the blob's digest
make_image() {
  "$PYTHON" benchmarks/_make_layout.py "$WORK/src" "$WORK/big.bin"
  BIG=sha256:$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
  export BIG
}

# push_blob HOST [REPO]: monolithic POST + PUT of $WORK/big.bin into REPO (default bench/big)
push_blob() {
  local loc repo=${2:-bench/big}
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$1/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
  case "$loc" in http*) ;; *) loc="http://$1$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$BIG" ;; *) loc="$loc?digest=$BIG" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/big.bin" \
    "$loc" -o /dev/null
}

# --- load generators -------------------------------------------------------------------------

ACCEPT="application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json"
ACCEPT="$ACCEPT,application/vnd.docker.distribution.manifest.v2+json"
ACCEPT="$ACCEPT,application/vnd.docker.distribution.manifest.list.v2+json"

# write_get_lua: $WORK/GET.lua, a wrk script sending GETs with the manifest Accept header
write_get_lua() {
  cat >"$WORK/GET.lua" <<LUA
wrk.method = "GET"
wrk.headers["Accept"] = "$ACCEPT"
LUA
}

# bench_wrk NAME HOST PATH LUA CONNECTIONS: one wrk run of SECONDS_WRK seconds; prints
# requests/s (fails on any non-2xx answer or socket error); the output goes to $WORK/wrk.txt.
# BENCH_WRAP, when set, is a command prefix wrk runs under (cpu_during.py: where the CPU went);
# WRK_TIMEOUT (wrk's default 2s) is how long one answer may take before it counts as an error
bench_wrk() {
  local out
  # shellcheck disable=SC2086
  out=$(${BENCH_WRAP:-} wrk -t2 -c"$5" -d"${SECONDS_WRK}s" --timeout "${WRK_TIMEOUT:-2s}" --latency -s "$WORK/$4.lua" "http://$2$3")
  echo "$out" >>"$WORK/wrk.txt"
  if echo "$out" | grep -q -e "Non-2xx" -e "Socket errors"; then
    echo "$1 on $2 had errors:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$out" | awk '/^Requests\/sec/ {print $2}'
}

# bench_hey NAME HOST PATH METHOD: one hey run (32 workers); prints requests/s (fails unless
# every answer is a 200); the output goes to $WORK/hey.txt
bench_hey() {
  local out
  out=$(hey -z "${SECONDS_WRK}s" -c 32 -m "$4" -H "Accept: $ACCEPT" "http://$2$3")
  echo "$out" >>"$WORK/hey.txt"
  if ! echo "$out" | grep -q "^  \[200\]" || echo "$out" | grep -q -e "^  \[[13-5]" -e "Error distribution"; then
    echo "$1 on $2 had errors:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

# transfer: the last wrk run's Transfer/sec (as wrk prints it: 1.2GB, 830.5MB…)
transfer() { awk '/^Transfer\/sec/ {print $2}' <<<"$(tail -n 3 "$WORK/wrk.txt")"; }

# --- arithmetic ------------------------------------------------------------------------------

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# GB/MB/KB → MB, for wrk's Transfer/sec
mb() { awk '{v=$1; if (v ~ /GB$/) {sub(/GB$/,"",v); v*=1024} else if (v ~ /KB$/) {sub(/KB$/,"",v); v/=1024} else {sub(/MB$/,"",v)}; printf "%.1f", v}' <<<"$1"; }
