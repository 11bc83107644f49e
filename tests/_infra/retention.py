"""A projects-mode registry (the real app, in process) for the retention tests, and what
they need around it: pushing artifacts (and referrers), setting push times, waiting for an
execution to end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_config, wait_for
from _infra.registry_server import ASGIClient, AuthedClient, PushedImage, descriptor, push_image
from dockyard.oci import mediatypes
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService
from dockyard.registry.metadata._schema import manifests, repositories, tags

__all__ = [
    "API",
    "DAY",
    "Served",
    "serve_projects",
    "set_push_time",
    "wait_execution",
]

API = "/api/v2.0"
DAY = 86400.0


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService
    admin: AuthedClient

    @property
    def headers(self) -> dict[str, str]:
        return basic("admin", ADMIN_PASSWORD)

    def push(
        self, repository: str, tag: str | None, seed: str, *, subject: PushedImage | None = None
    ) -> PushedImage:
        fields: dict[str, Any] = {}
        if subject is not None:
            fields["subject"] = descriptor(subject.manifest, mediatypes.OCI_MANIFEST)
            fields["artifactType"] = "application/vnd.example.sbom"
        return push_image(self.admin, repository, tag, seed=seed, **fields)


@contextmanager
def serve_projects(root: Path) -> Iterator[Served]:
    """The app ``auth: projects`` builds (retention wired as the server wires it)."""
    config = projects_config(root / "data")
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    access.users.ensure_admin(ADMIN_PASSWORD)
    with ASGIClient(app) as client:
        yield Served(app, client, access, AuthedClient(client, basic("admin", ADMIN_PASSWORD)))
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def set_push_time(served: Served, repository: str, digest: str, when: float) -> None:
    """Make ``digest`` in ``repository`` (and its tags) look pushed at ``when``."""
    with served.app.registry.meta.db.write() as conn:
        repo_id = conn.execute(
            repositories.select().with_only_columns(repositories.c.id)
            .where(repositories.c.name == repository)
        ).scalar_one()  # fmt: skip
        conn.execute(
            update(manifests)
            .where(manifests.c.repo_id == repo_id, manifests.c.digest == digest)
            .values(created_at=when)
        )
        ids = (
            manifests.select()
            .with_only_columns(manifests.c.id)
            .where(manifests.c.repo_id == repo_id, manifests.c.digest == digest)
        )
        conn.execute(update(tags).where(tags.c.manifest_id.in_(ids)).values(updated_at=when))
    served.app.registry.cache.invalidate(repository)


def wait_execution(client: Any, headers: dict[str, str], location: str) -> dict[str, Any]:
    """The execution at ``location`` (…/retentions/{id}/executions/{eid}) once it ended."""
    base, _, eid = location.rpartition("/")

    def ended() -> dict[str, Any] | None:
        r: httpx.Response = client.get(base, headers=headers, params={"page_size": "100"})
        assert r.status_code == 200, r.text
        [found] = [e for e in r.json() if str(e["id"]) == eid]
        return None if found["status"] == "Running" else dict(found)

    return wait_for(ended, timeout=60.0)
