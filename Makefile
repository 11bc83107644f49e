# dockyard — the two front-door commands are `make serve` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
APT_PACKAGES := docker.io skopeo umoci busybox-static crun runc docker-registry podman buildah apache2-utils debootstrap rpm db5.3-util golang-go slapd ldap-utils chromium postgresql redis-server haproxy opentracker iproute2 qemu-user-static binfmt-support
# Only for benchmarks/: public timing and load tools.
BENCH_PACKAGES := hyperfine wrk hey

.PHONY: install install-runtime js-deps test check lint format serve bench-deps system-deps docker-host binfmt clean

$(BIN)/uv:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q "uv==$(UV_VERSION)"

# Two stamps over one venv: the runtime dependencies alone (what `make serve` needs), and those
# plus the dev group (pytest, ruff, mypy, syft, dive, hadolint…) for `make test` and `make lint`.
# --inexact: a runtime sync leaves the dev tools (and uv itself) where an earlier sync put them.
# --compile-bytecode: every process (each test's CLI run, each registry server) then loads the
# dependencies' bytecode instead of compiling them from source (as pip-installed packages do).
$(VENV)/.runtime-synced: pyproject.toml uv.lock | $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --compile-bytecode --no-dev --python $(BIN)/python
	@touch $@

$(VENV)/.dev-synced: pyproject.toml uv.lock | $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	@touch $@ $(VENV)/.runtime-synced

# dockyard with its runtime dependencies only
install-runtime: $(VENV)/.runtime-synced

# dockyard and everything the tests and linters use
install: $(VENV)/.dev-synced

# JavaScript the console's browser tests inject (axe-core), pinned by package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@
js-deps: node_modules/.package-lock.json

# Debian packages the interop tests use (real docker, skopeo, umoci, runtimes). Root on Debian only.
# policy-rc.d keeps the packages from starting system services: the tests run their own dockerd.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    rcd=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
	      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && rcd=1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    rc=$$?; [ -n "$$rcd" ] && rm -f /usr/sbin/policy-rc.d; [ $$rc = 0 ] || exit $$rc; \
	  fi; \
	else echo "not root on Debian: skipping apt packages ($(APT_PACKAGES))"; fi

# What the kernel must offer the test dockerd: mounted cgroups (v2 with controllers delegated, or
# v1) and overlayfs (without it dockerd falls back to the slow vfs driver). Root only.
# `dockyard build` itself needs none of it (on a hybrid host it uses runc instead of crun); the
# tests that run crun by name, and CI's dockerd, still need v2 controllers moved to v1.
docker-host:
	@if [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ]; then \
	  if ! mountpoint -q /sys/fs/cgroup; then \
	    echo "mounting cgroups"; \
	    mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || cgroupfs-mount || exit 1; \
	  fi; \
	  if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ ! -s /sys/fs/cgroup/cgroup.subtree_control ]; then \
	    for c in $$(cat /sys/fs/cgroup/cgroup.controllers); do \
	      echo "+$$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true; done; \
	  fi; \
	  if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then \
	    for c in $$(cat /sys/fs/cgroup/unified/cgroup.controllers); do \
	      echo "moving cgroup controller $$c to v1 (crun refuses hybrid hierarchies with v2 controllers)"; \
	      mkdir -p /sys/fs/cgroup/$$c && mount -t cgroup -o $$c cgroup /sys/fs/cgroup/$$c || true; done; \
	  fi; \
	  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || \
	    echo "warning: no overlayfs in this kernel; dockerd will use the vfs storage driver"; \
	else echo "not root on Linux: leaving cgroups and kernel modules as they are"; fi

# Emulated RUN steps of multi-platform builds (linux/arm64, linux/arm/v7): binfmt_misc mounted
# and qemu-user-static's handlers (registered with the F flag) enabled. Root only.
binfmt: system-deps
	@if [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ]; then \
	  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then \
	    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 1; fi; \
	  for a in aarch64 arm; do [ -e /proc/sys/fs/binfmt_misc/qemu-$$a ] || \
	    update-binfmts --enable qemu-$$a || exit 1; done; \
	else echo "not root on Linux: leaving binfmt_misc as it is"; fi

# Exit status 5 (no tests collected) fails like any other failure.
# pytest-xdist runs one worker per core (each worker starts its own dockerd); `loadfile` keeps each
# test module on one worker, so the Dockerfile corpus (the heaviest module) never builds two
# entries at once. WORKERS=0 runs the suite in one process.
# PYTHONDONTWRITEBYTECODE is cleared for the test run: with it set, every worker and every process
# a test starts compiles dockyard's modules from source, and pytest rewrites every test module,
# each time (about a fifth of the quick set's CPU, benchmarks/RESULTS.md "make check"); the
# caches are __pycache__ directories, which git ignores.
TEST_ENV := PYTHONDONTWRITEBYTECODE=
WORKERS ?= auto
# The second pass: every registry module whose tests open a registry (API, conformance, real
# clients — docker, skopeo, podman — console, proxy, replication, GC, policies) again on
# PostgreSQL + S3 (SeaweedFS) + Redis (tests/_infra/backend.py), as replicas run; tests that
# read the filesystem backend's own files are marked filesystem_only. Left out: modules that
# never open a registry (config parsing, the access model's service, which runs on SQLite and
# PostgreSQL in the first pass) and those that start their own PostgreSQL, S3 or Redis (the
# cluster, storage-driver, migration and queue modules; tests/test_cluster_pass.py fails when a
# module that opens a registry is in neither group). docker tests run here too: each worker
# starts its own dockerd when a test first needs one, as in the first pass.
CLUSTER_TESTS := tests/registry/http tests/registry/test_registry_manifests.py \
  tests/registry/test_registry_uploads.py tests/registry/test_registry_mount.py \
  tests/registry/test_registry_manifest_content_type.py \
  tests/registry/test_registry_manifest_reference_parity.py \
  tests/registry/test_registry_manifest_tags_param.py tests/registry/test_registry_sparse_index.py \
  tests/registry/test_registry_podman.py tests/registry/test_registry_blob_integrity.py \
  tests/registry/test_registry_gc.py tests/registry/test_registry_backend_switch.py \
  tests/registry/test_registry_team_helpers_backend.py tests/registry/harbor tests/registry/token \
  tests/registry/immutability tests/registry/promotion tests/registry/retention \
  tests/registry/webhooks/test_webhooks_events.py tests/registry/webhooks/test_webhooks_api_events.py \
  tests/registry/webhooks/test_webhooks_notifications.py tests/registry/webhooks/test_webhooks_restart.py \
  tests/registry/access/test_access_server.py tests/registry/access/test_access_upkeep.py \
  tests/registry/access/test_access_clients.py tests/registry/access/test_access_workers.py \
  tests/registry/access/test_access_project_policies.py tests/registry/access/test_access_deletes_and_tokens.py \
  tests/registry/scanning/test_scanning_claims.py \
  tests/registry/scanning/test_scanning_limits.py::test_absolute_member_name_scan_ends_and_the_queue_moves_on \
  tests/registry/test_registry_interop.py tests/registry/test_registry_mount_interop.py \
  tests/registry/access/test_access_matrix.py tests/registry/policy/test_policy_signature_bypass.py \
  tests/registry/console tests/registry/proxy \
  tests/registry/scanning/test_scanning_on_push.py tests/registry/scanning/test_scanning_policy.py \
  tests/registry/scanning/test_scanning_restart.py \
  tests/registry/replication/test_replication_pull.py tests/registry/replication/test_replication_worker.py \
  tests/registry/policy/test_policy_signatures.py tests/registry/webhooks/test_webhooks_notification_metrics.py \
  tests/registry/webhooks/test_webhooks_scan_events.py \
  tests/registry/auth/test_auth_server.py tests/registry/test_registry_faults.py \
  tests/registry/test_registry_upload_recovery.py tests/registry/test_registry_distribution_metrics.py \
  tests/registry/test_registry_server_wiring.py tests/registry/test_registry_tls_serving.py \
  tests/registry/replication/test_replication_projects.py \
  tests/registry/replication/test_replication_deletion.py tests/registry/replication/test_replication_filters.py \
  tests/registry/replication/test_replication_push.py tests/registry/replication/test_replication_restart.py \
  tests/registry/replication/test_replication_secrets.py \
  tests/registry/test_registry_gc_manifest_race.py tests/registry/test_registry_gc_knobs.py \
  tests/registry/test_registry_gc_live.py tests/registry/test_registry_scheduled_fsck.py \
  tests/registry/test_registry_project_delete_policies.py tests/registry/test_registry_policy_tables_bounded.py \
  tests/registry/contents \
  tests/registry/test_registry_accesslog_batching.py tests/registry/test_registry_debug_address.py \
  tests/registry/test_registry_home_page_commands.py tests/registry/test_registry_upload_limits.py \
  tests/registry/test_registry_upload_replayed_put.py tests/registry/test_registry_workers.py \
  tests/registry/test_registry_runs_abandoned.py
# What CI keeps of a run (gitignored): the browser tests' screenshots of every console and
# `dockyard ui` page at desktop and phone width, the cluster pass's under cluster/.
TEST_ARTIFACTS ?= $(CURDIR)/test-artifacts
test: install system-deps docker-host binfmt js-deps
	DOCKYARD_TEST_ARTIFACTS=$(TEST_ARTIFACTS) $(TEST_ENV) $(BIN)/python -m pytest -q \
	  --durations=25 -n $(WORKERS) --dist loadfile
	DOCKYARD_TEST_ARTIFACTS=$(TEST_ARTIFACTS)/cluster DOCKYARD_TEST_BACKEND=cluster $(TEST_ENV) \
	  $(BIN)/python -m pytest -q --durations=10 \
	  -n $(WORKERS) --dist loadfile -m "not filesystem_only" $(CLUSTER_TESTS)

# The quick tests, for the edit-test loop: no dockerd (tests using the `dockerd` fixture are
# marked `docker` automatically), nothing `slow` (see the marker's rule in pyproject.toml: the
# corpus, tests that start a registry process or PostgreSQL, and any test of about a second or
# more on a quiet machine) and no `fuzz` (tests/fuzz is not even collected: its API fuzzing
# draws examples at import). Budget: a minute or two on 2 cores. `make test` runs everything.
check: install system-deps docker-host binfmt js-deps
	$(TEST_ENV) $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile --ignore=tests/fuzz \
	  -m "not docker and not slow and not fuzz"

# dockyard's main job: the registry, on embedded defaults (filesystem + SQLite under ./.serve,
# http://127.0.0.1:5000). Override with REGISTRY_* variables or a config file, as with registry:2.
# Only the runtime dependencies: serving needs no test tools. `make serve AUTH=projects`: projects,
# users and the web console at / (the first start prints the admin password once;
# DOCKYARD_ADMIN_PASSWORD chooses it).
AUTH ?=
serve: install-runtime
	$(if $(AUTH),REGISTRY_AUTH=$(AUTH) )$(BIN)/dockyard registry serve

bench-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_PACKAGES) >/dev/null; fi

# ruff (lint and format check) and mypy --strict over src and tests, every module
lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
