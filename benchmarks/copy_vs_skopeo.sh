#!/usr/bin/env bash
# dockyard copy vs skopeo copy: push (OCI layout → registry) and pull (registry → OCI layout) of
# a 10-layer ~200 MB image (random, incompressible layers), against one docker-registry
# (distribution 2.8) on loopback, same run. Every push starts from an empty registry; every
# pull from an empty target directory.
# Then the same pull from a second docker-registry with htpasswd (bcrypt) auth, every run with
# a fresh, empty $HOME: skopeo gets --src-creds, dockyard a `dockyard login` into the new
# $HOME's docker config.json (done in --prepare, not timed), as users give credentials.
# Needs: docker-registry, skopeo, hyperfine.  Usage: benchmarks/copy_vs_skopeo.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
# An installed wheel has its bytecode compiled at install time; a checkout's editable install
# writes it on first use, or never when PYTHONDONTWRITEBYTECODE is set. Compile it once here so
# every run measures the start-up users get.
"$PYTHON" -m compileall -q src >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-copy-XXXXXX")
REG_PID=""
AUTH_PID=""
cleanup() {
  for pid in $REG_PID $AUTH_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/data}, delete: {enabled: true}}
http: {addr: $HOST, secret: bench}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -fs "http://$HOST/v2/" >/dev/null && break; sleep 0.1; done

# the image: an OCI layout with 10 gzip layers of 20 MB random data
"$PYTHON" benchmarks/_make_layout.py "$WORK/src"
du -sh "$WORK/src"

# the registry's store is emptied before every push run
EMPTY="rm -rf $WORK/data"
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/push.md" \
  -n "skopeo copy (push)" --prepare "$EMPTY" \
  "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$WORK/src:bench docker://$HOST/bench/img:1" \
  -n "dockyard copy (push)" --prepare "$EMPTY" \
  "$DOCKYARD copy -q oci:$WORK/src:bench docker://$HOST/bench/img:1"

skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$WORK/src:bench" "docker://$HOST/bench/img:1"
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/pull.md" \
  -n "skopeo copy (pull)" --prepare "rm -rf $WORK/out-s" \
  "skopeo copy -q --preserve-digests --src-tls-verify=false docker://$HOST/bench/img:1 oci:$WORK/out-s:bench" \
  -n "dockyard copy (pull)" --prepare "rm -rf $WORK/out-d" \
  "$DOCKYARD copy -q docker://$HOST/bench/img:1 oci:$WORK/out-d:bench"

# the same pull from a registry with htpasswd auth, each run with a fresh $HOME
AUTH_PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AUTH_HOST=127.0.0.1:$AUTH_PORT
AUTH_USER=bench
AUTH_PASS=bench-pass
"$DOCKYARD" htpasswd -Bbc "$WORK/htpasswd" "$AUTH_USER" "$AUTH_PASS"
cat >"$WORK/registry-auth.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/data-auth}, delete: {enabled: true}}
http: {addr: $AUTH_HOST, secret: bench}
auth: {htpasswd: {realm: bench, path: $WORK/htpasswd}}
YML
docker-registry serve "$WORK/registry-auth.yml" >"$WORK/registry-auth.log" 2>&1 &
AUTH_PID=$!
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$AUTH_HOST/v2/")" = 401 ] && break
  sleep 0.1
done
skopeo copy -q --preserve-digests --dest-tls-verify=false --dest-creds "$AUTH_USER:$AUTH_PASS" \
  "oci:$WORK/src:bench" "docker://$AUTH_HOST/bench/img:1"
FRESH="rm -rf $WORK/home && mkdir $WORK/home"
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$WORK/pull-auth.md" \
  -n "skopeo copy (pull, htpasswd, fresh \$HOME)" \
  --prepare "rm -rf $WORK/out-s && $FRESH" \
  "HOME=$WORK/home skopeo copy -q --preserve-digests --src-tls-verify=false --src-creds $AUTH_USER:$AUTH_PASS docker://$AUTH_HOST/bench/img:1 oci:$WORK/out-s:bench" \
  -n "dockyard copy (pull, htpasswd, fresh \$HOME)" \
  --prepare "rm -rf $WORK/out-d && $FRESH && echo $AUTH_PASS | HOME=$WORK/home $DOCKYARD login -u $AUTH_USER --password-stdin $AUTH_HOST >/dev/null" \
  "HOME=$WORK/home $DOCKYARD copy -q docker://$AUTH_HOST/bench/img:1 oci:$WORK/out-d:bench"

cat "$WORK/push.md" "$WORK/pull.md" "$WORK/pull-auth.md"
