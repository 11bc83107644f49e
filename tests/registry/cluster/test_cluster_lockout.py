"""Failed logins are counted across replicas: two registry replicas on one PostgreSQL database
(and one S3 bucket and Redis), a password guessed against both in turn — once the failures
reach ``refuseafter`` on the two together, both refuse every further attempt (429 with
Retry-After, even with the right password), and the lockout is audited once per key (the
client address and the user name)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from _infra.cluster import Backends, Cluster, start_cluster
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD
from dockyard.registry.access._schema import audit_log

pytestmark = pytest.mark.slow

ADMIN = ("admin", ADMIN_PASSWORD)
REFUSE_AFTER = 4
#: the token service of a cluster replica (start_cluster's config)
SERVICE = "dockyard-registry"
CONFIG = {"auth": {"projects": {
    "passwordcost": 4,
    "lockout": {"delayafter": REFUSE_AFTER, "refuseafter": REFUSE_AFTER, "delay": "0s"},
}}}  # fmt: skip


@pytest.fixture(scope="module")
def cluster(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with start_cluster(
        backends, tmp_path_factory.mktemp("lockout"), replicas=2, balancer=False, config=CONFIG,
        env={"DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
    ) as started:  # fmt: skip
        yield started


def _token(cluster: Cluster, replica: str, user: str, password: str) -> httpx.Response:
    return httpx.get(
        f"{cluster.replicas[replica].url}/service/token",
        params={"service": SERVICE, "scope": "repository:team/app:pull"},
        auth=(user, password),
        timeout=30,
    )


def test_failed_logins_on_two_replicas_lock_out_on_both(cluster: Cluster) -> None:
    first = cluster.replicas["registry-1"].url
    r = httpx.post(f"{first}/api/v2.0/users", auth=ADMIN, timeout=30, json={
        "username": "dev", "password": PASSWORD, "email": "dev@example.com",
        "realname": "Dev"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert _token(cluster, "registry-2", "dev", PASSWORD).status_code == 200
    # half the guesses on each replica: neither saw refuseafter failures by itself
    for n in range(REFUSE_AFTER):
        replica = f"registry-{n % 2 + 1}"
        assert _token(cluster, replica, "dev", "Wrong1234").status_code == 401, replica
    for replica in ("registry-1", "registry-2", "registry-1", "registry-2"):
        r = _token(cluster, replica, "dev", PASSWORD)
        assert r.status_code == 429, (replica, r.text)
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # one lockout of the address and one of the name, in the shared audit log (read from the
    # database: the API would refuse the administrator too, from the same locked address)
    db = cluster.db()
    try:
        with db.read() as conn:
            locks = conn.execute(
                select(audit_log.c.resource_type, audit_log.c.resource).where(
                    audit_log.c.operation == "login_lockout"
                )
            ).all()
    finally:
        db.close()
    assert sorted(map(tuple, locks)) == [("client", "127.0.0.1"), ("user", "dev")], locks
