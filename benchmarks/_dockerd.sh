# Sourced by benchmark scripts: use $DOCKER_HOST if it answers, else start a private dockerd.
# Leaves DOCKER (the client), DOCKER_HOST and a cleanup trap behind.
DOCKER=${DOCKER:-/usr/bin/docker}
if [ -z "${DOCKER_HOST:-}" ] || ! "$DOCKER" version >/dev/null 2>&1; then
  BENCH_DOCKERD_DIR=$(mktemp -d /tmp/dy-bench-XXXXXX)
  dockerd --data-root "$BENCH_DOCKERD_DIR/data" --exec-root "$BENCH_DOCKERD_DIR/exec" \
    --pidfile "$BENCH_DOCKERD_DIR/pid" --host "unix://$BENCH_DOCKERD_DIR/sock" \
    --iptables=false --bridge=none >"$BENCH_DOCKERD_DIR/log" 2>&1 &
  export DOCKER_HOST="unix://$BENCH_DOCKERD_DIR/sock"
  for _ in $(seq 100); do "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.2; done
  stop_bench_dockerd() {
    kill "$(cat "$BENCH_DOCKERD_DIR/pid")" 2>/dev/null || true
    sleep 2
    umount -R "$BENCH_DOCKERD_DIR"/* 2>/dev/null || true
    rm -rf "$BENCH_DOCKERD_DIR"
  }
  trap stop_bench_dockerd EXIT
fi
export DOCKER
