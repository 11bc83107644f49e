"""``make test``'s second pass runs the registry's tests again on PostgreSQL + S3 + Redis
(``DOCKYARD_TEST_BACKEND=cluster``, the Makefile's ``CLUSTER_TESTS``). Every module under
``tests/registry/`` that opens a registry (a server process, an in-process app, a cluster) is in
that list, or starts PostgreSQL, S3 or Redis of its own and is named here with that reason: a
new module cannot be left to the filesystem backend by forgetting the list."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what a module that opens a registry calls (the helpers of tests/_infra)
OPENS = re.compile(
    r"\b(start_registry|build_app|projects_app|scanning_app|scanning_served|start_cluster|"
    r"RegistryProcess)\b"
)
#: modules that open a registry on backends of their own (so the second pass adds nothing)
OWN_BACKENDS = {
    "tests/registry/cluster/test_cluster_clients.py": "replicas on the cluster's own servers",
    "tests/registry/cluster/test_cluster_jobs.py": "replicas on the cluster's own servers",
    "tests/registry/cluster/test_cluster_lockout.py": "replicas on the cluster's own servers",
    "tests/registry/cluster/test_cluster_outages.py": "stops its own PostgreSQL, Redis, S3",
    "tests/registry/cluster/test_cluster_scanning.py": "replicas on the cluster's own servers",
    "tests/registry/metadata/test_metadata_database_postgres_serve.py": "its own PostgreSQL database",
    "tests/registry/redis/test_redis_replicas.py": "its own Redis",
    "tests/registry/scanning/test_scanning_outage.py": "crashes its own PostgreSQL",
    "tests/registry/storage/test_storage_s3_registry.py": "its own SeaweedFS",
}


def _cluster_tests() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(r"^CLUSTER_TESTS := (.*?)\n(?=\S)", makefile, re.S | re.M)
    assert found is not None, "no CLUSTER_TESTS in the Makefile"
    covered: set[str] = set()
    for entry in found.group(1).replace("\\\n", " ").split():
        path = ROOT / entry.split("::")[0]
        assert path.exists(), f"CLUSTER_TESTS names {entry}, which is not there"
        files = sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
        covered.update(str(f.relative_to(ROOT)) for f in files)
    return covered


def test_every_module_that_opens_a_registry_runs_on_the_cluster_backend() -> None:
    covered = _cluster_tests()
    opening = {
        str(f.relative_to(ROOT))
        for f in (ROOT / "tests" / "registry").rglob("test_*.py")
        if OPENS.search(f.read_text())
    }
    missing = sorted(opening - covered - OWN_BACKENDS.keys())
    assert not missing, f"add to the Makefile's CLUSTER_TESTS (or name why not here): {missing}"
    stale = sorted(k for k in OWN_BACKENDS if not (ROOT / k).exists() or k in covered)
    assert not stale, f"OWN_BACKENDS names modules gone or in CLUSTER_TESTS: {stale}"
