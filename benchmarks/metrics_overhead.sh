#!/usr/bin/env bash
# What the registry's metrics cost on its hot path: cached manifest GETs by tag (wrk, 32
# connections), one worker process each, three registries side by side in one run:
#   now   - the sources of git revision NOW (default HEAD), metrics on (the default:
#           dockyard_* and distribution's registry_* families)
#   base  - the sources of git revision BASE (default: the commit before distribution's
#           registry_http_* and registry_storage_action_seconds families), metrics on
#   off   - NOW's sources with REGISTRY_METRICS_ENABLED=false
# (sources taken with git archive, so edits not committed yet play no part)
# Each round runs the three one after the other (order rotating); the table shows medians of
# REPEAT rounds and the median per-round ratios now/base and now/off.
# Needs: skopeo, wrk, curl, git.
# Usage: [NOW=rev] [BASE=rev] [REPEAT=n] benchmarks/metrics_overhead.sh [wrk-seconds]
set -euo pipefail
source "$(dirname "$0")/lib/registry_bench.sh"
SECONDS_WRK=${1:-10}
REPEAT=${REPEAT:-5}
BASE=${BASE:-4ae2731~1}
NOW=${NOW:-HEAD}
bench_init metrics
for tree in now base; do
  rev=$NOW
  [ "$tree" = base ] && rev=$BASE
  mkdir -p "$WORK/$tree"
  git archive "$rev" src | tar -x -C "$WORK/$tree"
  "$PYTHON" -m compileall -q "$WORK/$tree/src" >/dev/null
done

# a one-layer image (manifest GETs are what is measured)
"$PYTHON" - "$WORK/img" <<'PY'
import gzip, hashlib, json, sys
from pathlib import Path
root = Path(sys.argv[1]); blobs = root / "blobs" / "sha256"; blobs.mkdir(parents=True)
def put(data):
    d = hashlib.sha256(data).hexdigest(); (blobs / d).write_bytes(data)
    return {"digest": f"sha256:{d}", "size": len(data)}
raw = b"metrics overhead\n" * 64
config = {"architecture": "amd64", "os": "linux", "config": {},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       **put(json.dumps(config).encode())},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        **put(gzip.compress(raw, mtime=0))}]}
m = put(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "manifests": [{"mediaType": manifest["mediaType"], **m,
         "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
(root / "index.json").write_text(json.dumps(index))
(root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
PY

declare -A HOST
start() {  # start NAME [ENV...]: a registry with one worker; the image pushed to it
  local name=$1 port
  shift
  port=$(free_port)
  HOST[$name]=127.0.0.1:$port
  mkdir -p "$WORK/$name-data"
  env "$@" "$DOCKYARD" registry serve --root "$WORK/$name-data" --addr "${HOST[$name]}" \
    --workers 1 >>"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  wait_http "http://${HOST[$name]}/v2/"
  skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/img:v1" \
    "docker://${HOST[$name]}/bench/metrics:v1"
}
start now PYTHONPATH="$WORK/now/src"
start base PYTHONPATH="$WORK/base/src"
start off PYTHONPATH="$WORK/now/src" REGISTRY_METRICS_ENABLED=false
grep -q '^registry_http_requests_total' <<<"$(curl -fs "http://${HOST[now]}/metrics")" ||
  { echo "NOW $NOW serves no registry_http_requests_total" >&2; exit 1; }
if grep -q '^registry_http_requests_total' <<<"$(curl -fs "http://${HOST[base]}/metrics")"; then
  echo "BASE $BASE already has registry_http_requests_total" >&2; exit 1
fi
write_get_lua

names=(now base off)
declare -A RPS
R_BASE="" R_OFF=""
for round in $(seq "$REPEAT"); do
  declare -A this=()
  for i in 0 1 2; do
    name=${names[$(((round + i) % 3))]}
    this[$name]=$(bench_wrk "manifest GET" "${HOST[$name]}" /v2/bench/metrics/manifests/v1 GET 32)
    RPS[$name]="${RPS[$name]:-} ${this[$name]}"
  done
  R_BASE="$R_BASE $(ratio "${this[now]}" "${this[base]}")"
  R_OFF="$R_OFF $(ratio "${this[now]}" "${this[off]}")"
done

echo
echo "cached manifest GET by tag, wrk -c32 ${SECONDS_WRK}s, one worker each, $REPEAT rounds (medians)"
echo "| registry | requests/s |"
echo "|---|---|"
for name in now base off; do
  echo "| $name | $(median <<<"${RPS[$name]}") |"
done
echo "now/base per round:$R_BASE (median $(median <<<"$R_BASE"))"
echo "now/off per round:$R_OFF (median $(median <<<"$R_OFF"))"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
