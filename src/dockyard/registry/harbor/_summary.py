"""dockyard extension ``GET /vulnerabilities/summary``: the artifacts of the caller's projects
counted by their worst vulnerability, as the console's dashboard charts them.

Harbor's nearest is the security hub's ``GET /security/summary``: it counts vulnerabilities
(not artifacts) over the whole system, for system administrators only. This answer keeps
that object's field names (``critical_cnt`` … ``none_cnt``, ``scanned_cnt``,
``total_artifact``) but counts **artifacts**, each once under its worst severity (an index
under the worst of its images; ``unscanned_cnt`` while a report is missing), over the
projects a system administrator sees (all) or a user is a member of, and only those where
the caller may list artifacts. It reads the reports and never queues a scan.

Bounded: at most :data:`MAX_PROJECTS` projects, :data:`MAX_ARTIFACTS` artifacts and
:data:`MAX_LISTINGS` listings are looked at; ``partial`` says when counting stopped early."""

from __future__ import annotations

from typing import Any

from dockyard.registry.contents import worst_severities
from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import PreconditionFailed
from dockyard.registry.identity import Identity
from dockyard.registry.metadata import ArtifactQuery, RepositoryQuery
from dockyard.registry.scanning import scan_all_of

__all__ = ["MAX_ARTIFACTS", "MAX_LISTINGS", "MAX_PROJECTS", "get_vulnerability_summary"]

MAX_PROJECTS = 1000
MAX_ARTIFACTS = 500
#: repository and artifact listings one summary makes at most
MAX_LISTINGS = 300
_PAGE = 100
#: the answer's field for each of :data:`dockyard.registry.contents.SEVERITIES`
FIELDS = {"CRITICAL": "critical_cnt", "HIGH": "high_cnt", "MEDIUM": "medium_cnt",
          "LOW": "low_cnt", "UNKNOWN": "unknown_cnt", "NONE": "none_cnt",
          "UNSCANNED": "unscanned_cnt"}  # fmt: skip


def _projects(call: Call, identity: Identity) -> list[str]:
    """Blocking: the names of the projects counted, by name."""
    access = access_of(call)
    out: list[str] = []
    number = 1
    while len(out) < MAX_PROJECTS:
        found = access.list_projects(identity, page=number, page_size=_PAGE)
        out.extend(p.name for p in found.items if identity.sysadmin or p.current_user_role_ids)
        if len(found.items) < _PAGE or number * _PAGE >= found.total:
            break
        number += 1
    return out[:MAX_PROJECTS]


def _artifacts(call: Call, projects: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """Blocking: (repository, digest) of up to MAX_ARTIFACTS artifacts of ``projects``, in
    at most MAX_LISTINGS listings, and whether counting stopped early."""
    inventory = call.api.inventory(call.registry)
    out: list[tuple[str, str]] = []
    listings = 0
    for project in projects:
        _, repos = inventory.repositories(
            RepositoryQuery(prefixes=(project + "/",), offset=0, limit=_PAGE)
        )
        listings += 1
        for repo in repos:
            if len(out) >= MAX_ARTIFACTS or listings >= MAX_LISTINGS:
                return out, True
            offset = 0
            while len(out) < MAX_ARTIFACTS:
                want = min(_PAGE, MAX_ARTIFACTS - len(out))
                _, rows = inventory.artifacts(repo.name, ArtifactQuery(offset=offset, limit=want))
                listings += 1
                out.extend((repo.name, r.digest) for r in rows)
                if len(rows) < want:
                    break
                offset += want
    return out, False


async def get_vulnerability_summary(call: Call) -> Reply:
    """dockyard extension: the caller's artifacts by their worst vulnerability."""
    access_of(call)
    identity = await call.authenticated()
    scanning = scan_all_of(call.registry)
    if scanning is None:
        raise PreconditionFailed(
            "this registry does not scan images",
            hint="add a scanning: section to the registry's config",
        )
    names = await call.run(_projects, call, identity)
    readable = [n for n in names if await call.allowed(n, "artifact", "list")]
    artifacts, partial = await call.run(_artifacts, call, readable)
    counts = await call.run(worst_severities, scanning, call.registry, artifacts)
    doc: dict[str, Any] = {field: counts[level] for level, field in FIELDS.items()}
    doc["total_artifact"] = sum(counts.values())
    doc["scanned_cnt"] = doc["total_artifact"] - counts["UNSCANNED"]
    doc["partial"] = partial or len(names) >= MAX_PROJECTS
    return Reply(json=doc)
