#!/usr/bin/env bash
# What registry:2 notifications (the webhook queue) cost dockyard's registry, in one run:
# the same registry without notifications ("off") and with one notifications endpoint
# receiving every push, pull and delete ("on"; a local receiver answering 204), alternating.
#   - pushes: N small image manifests (one tag each) from one client, pushes/s
#   - manifest GET by tag: wrk -t2 -c32, requests/s (every GET is a pull event)
# Each registry starts from an empty, fresh root; DY_WORKERS processes (default: one per core).
# Usage: [DY_WORKERS=n] [REPEAT=n] benchmarks/webhooks_overhead.sh [pushes] [wrk-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
PUSHES=${1:-300}
SECONDS_WRK=${2:-10}
REPEAT=${REPEAT:-3}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
"$PYTHON" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-hookbench-XXXXXX")
cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RECV=$(free_port)
"$PYTHON" benchmarks/_webhook_load.py receiver "$RECV" & echo $! >"$WORK/recv.pid"
ACCEPT="application/vnd.oci.image.manifest.v1+json"
printf 'wrk.method = "GET"\nwrk.headers["Accept"] = "%s"\n' "$ACCEPT" >"$WORK/GET.lua"

run() {  # off|on → "pushes/s rps"
  local mode=$1 port root
  port=$(free_port); root="$WORK/data-$mode-$RANDOM"
  mkdir -p "$root"
  if [ "$mode" = on ]; then
    printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nnotifications:\n  endpoints:\n    - {name: bench, url: "http://127.0.0.1:%s/events", timeout: 5s, threshold: 5, backoff: 1s}\n' \
      "$root" "$RECV" >"$WORK/on.yml"
    "$DOCKYARD" registry serve "$WORK/on.yml" --addr "127.0.0.1:$port" --workers "$DY_WORKERS" \
      >>"$WORK/dy-$mode.log" 2>&1 &
  else
    REGISTRY_STORAGE_DELETE_ENABLED=true "$DOCKYARD" registry serve --root "$root" \
      --addr "127.0.0.1:$port" --workers "$DY_WORKERS" >>"$WORK/dy-$mode.log" 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 400); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
  local pushes rps
  pushes=$("$PYTHON" benchmarks/_webhook_load.py push "127.0.0.1:$port" "$PUSHES")
  rps=$(wrk -t2 -c32 -d"${SECONDS_WRK}s" -s "$WORK/GET.lua" \
        "http://127.0.0.1:$port/v2/bench/app/manifests/t0" | awk '/^Requests\/sec/ {print int($2)}')
  kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  echo "$pushes $rps"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$WORK/off.txt"; : >"$WORK/on.txt"
for _ in $(seq "$REPEAT"); do
  run off >>"$WORK/off.txt"
  run on >>"$WORK/on.txt"
done
delivered=$("$PYTHON" benchmarks/_webhook_load.py count "$RECV")
op=$(cut -d' ' -f1 "$WORK/off.txt" | median); np=$(cut -d' ' -f1 "$WORK/on.txt" | median)
og=$(cut -d' ' -f2 "$WORK/off.txt" | median); ng=$(cut -d' ' -f2 "$WORK/on.txt" | median)
echo "| Measure (median of $REPEAT) | no notifications | one endpoint | on / off |"
echo "|:---|---:|---:|---:|"
echo "| manifest PUT, one client (pushes/s) | $op | $np | $(awk "BEGIN {printf \"%.2f\", $np/$op}")× |"
echo "| manifest GET by tag, wrk -c32 (requests/s) | $og | $ng | $(awk "BEGIN {printf \"%.2f\", $ng/$og}")× |"
echo
echo "rounds off (pushes/s rps): $(tr '\n' ';' <"$WORK/off.txt")"
echo "rounds on  (pushes/s rps): $(tr '\n' ';' <"$WORK/on.txt")"
echo "requests the events the receiver got stand for, by the end: $delivered"
