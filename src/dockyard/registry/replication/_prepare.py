"""Harbor's ``PrepareForPush`` for an endpoint of type ``harbor`` (a Harbor, or a dockyard
registry in ``auth: projects`` mode): before the first copy of an execution into a
destination project, that project is looked up with ``GET /api/v2.0/projects`` and created
with ``POST /api/v2.0/projects`` when it is missing, so that a push policy does not need
someone to make its projects by hand at the destination.

As Harbor's adapter does: the project is the first component of the destination repository;
it is made private unless the source project here is public (Harbor carries the source
project's ``public`` metadata, and nothing else); a 409 (another copy made it meanwhile) is
success; a destination project that is a proxy cache project (it has a ``registry_id``) is
not pushed into: the copy is skipped, with a line in its log. A credential that may not
create projects there gets a clear, final refusal rather than retries. A ``harbor`` endpoint
with no projects at all (a dockyard registry without ``auth: projects`` answers its
projects API with 412) is pushed into as a plain distribution registry.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import inspect, select

from dockyard.client import Credentials, Transport
from dockyard.client.harbor import ApiConnection
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    Denied,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthorized,
    Unsupported,
)
from dockyard.registry._registry import Registry
from dockyard.registry.access._schema import project_metadata, projects
from dockyard.registry.replication._registries import RemoteRegistry

__all__ = ["PROJECT_ENDPOINTS", "DestinationProjects", "ProjectRefused", "source_public"]

log = logging.getLogger("dockyard.registry.replication")

#: The endpoint types whose projects are made before a push (Harbor's API at /api/v2.0).
PROJECT_ENDPOINTS = ("harbor",)
#: (execution, endpoint URL, project) pairs remembered as ready.
KEPT = 10_000


class ProjectRefused(Denied):
    """The destination project is missing and the endpoint's credential may not create it."""


def source_public(registry: Registry, project: str) -> bool:
    """Is ``project`` a public project of this registry (``auth: projects``)? False when it
    is private, unknown, or the registry has no projects."""
    db = registry.meta.db
    with db.read() as conn:
        if not inspect(conn).has_table(project_metadata.name):
            return False
        row = conn.execute(
            select(project_metadata.c.value)
            .select_from(projects.join(project_metadata))
            .where(projects.c.name == project, project_metadata.c.name == "public")
        ).first()  # fmt: skip
    return row is not None and str(row.value).lower() == "true"


def _project(repository: str) -> str:
    """The project of a destination repository (its first component), "" when it has none."""
    project, slash, _ = repository.partition("/")
    return project if slash else ""


class DestinationProjects:
    """What one worker knows of its destinations' projects: which were found or made in an
    execution (looked up once per execution and project, as Harbor prepares each execution),
    and which are proxy cache projects. Thread-safe, bounded."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        #: (execution, url, project) → True: ready; False: a proxy cache project
        self._known: OrderedDict[tuple[int, str, str], bool] = OrderedDict()

    def _remember(self, key: tuple[int, str, str], ready: bool) -> None:
        with self._lock:
            self._known[key] = ready
            self._known.move_to_end(key)
            while len(self._known) > KEPT:
                self._known.popitem(last=False)

    def ensure(
        self,
        endpoint: RemoteRegistry,
        transport: Transport,
        execution: int,
        src_repository: str,
        dst_repository: str,
    ) -> str | None:
        """Make sure the project of ``dst_repository`` exists at ``endpoint``: None when the
        copy may go ahead, else why it is skipped (a line for its log)."""
        name = _project(dst_repository)
        if not name:
            return None  # a repository outside any project: the destination decides
        key = (execution, endpoint.url, name)
        with self._lock:
            known = self._known.get(key)
        if known is None:
            known = self._prepare(endpoint, transport, name, src_repository)
            self._remember(key, known)
        if known:
            return None
        return (
            f"destination project {name!r} at {endpoint.url} is a proxy cache project: "
            f"{dst_repository} is not pushed into (as Harbor skips it)"
        )

    def _prepare(
        self, endpoint: RemoteRegistry, transport: Transport, name: str, src_repository: str
    ) -> bool:
        credentials = (
            Credentials(endpoint.access_key, endpoint.access_secret)
            if endpoint.access_key
            else None
        )
        api = ApiConnection(transport, endpoint.host, endpoint.url, credentials)
        try:
            found = self._find(api, endpoint, name)
        except (FailedPrecondition, NotFound, Unsupported) as exc:
            log.info("%s has no projects to prepare (%s): pushing as into any registry",
                     endpoint.url, exc)  # fmt: skip
            return True
        if found is not None:
            return not found.get("registry_id")
        public = source_public(self.registry, _project(src_repository) or src_repository)
        body = {"project_name": name, "metadata": {"public": "true" if public else "false"}}
        what = f"create project {name!r} at {endpoint.url} before pushing into it"
        try:
            api.request("POST", "/projects", what=what, body=body, ok=(201,))
        except (AlreadyExists, Conflict):
            return True  # made meanwhile (by another copy), or private and not listed to us
        except (Unauthorized, Denied) as exc:
            who = f"user {endpoint.access_key!r}" if endpoint.access_key else "an anonymous client"
            raise ProjectRefused(
                f"project {name!r} does not exist at {endpoint.url}, and {who} may not create "
                f"it there ({exc})",
                hint=f"create project {name!r} at {endpoint.url}, or give endpoint registry "
                f"{endpoint.name!r} a credential that may create projects (a system "
                "administrator's or a system robot's)",
            ) from None
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{endpoint.url} refused to create project {name!r} ({exc})",
                hint="rewrite the destination namespace to a valid project name (dest_namespace)",
            ) from None
        return True

    @staticmethod
    def _find(api: ApiConnection, endpoint: RemoteRegistry, name: str) -> dict[str, Any] | None:
        """The project called ``name`` as the endpoint lists it to its credential (Harbor's
        ``q=name={'…'}``: quoted so that a name of digits stays a string), or None."""
        resp = api.request(
            "GET",
            "/projects",
            what=f"look up project {name!r} at {endpoint.url}",
            query={"q": f"name={{'{name}'}}", "with_detail": "false", "page_size": 10},
        )
        try:
            rows = resp.json()
        except DockyardError:
            rows = None
        if not isinstance(rows, list):
            raise DockyardError(
                f"{endpoint.url} answered GET /api/v2.0/projects with no project list",
                hint="is the endpoint a Harbor (type harbor) registry?",
            )
        for row in rows:
            if isinstance(row, dict) and row.get("name") == name:
                return row
        return None
