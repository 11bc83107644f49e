"""A registry in ``auth: projects`` mode: its configuration, the access model on its database,
and the people the access tests use (admin, a developer, a guest)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from _infra import backend
from dockyard.registry.access import AccessService, AuditEntry, AuditQuery, Role
from dockyard.registry.config import RegistryConfig, load
from dockyard.registry.identity import Identity

__all__ = [
    "ADMIN_PASSWORD",
    "PASSWORD",
    "audit_entries",
    "basic",
    "projects_config",
    "projects_env",
    "team_with_people",
    "wait_for",
]

#: Passwords that pass Harbor's rule (upper, lower, digit, 8+).
ADMIN_PASSWORD = "Admin12345"
PASSWORD = "Secret123"
SERVICE = "dockyard-access-tests"

T = TypeVar("T")


def projects_env(root: Path, **extra: str) -> dict[str, str]:
    """``REGISTRY_*`` for a projects-mode registry keeping its data in ``root`` (with
    DOCKYARD_TEST_BACKEND=cluster: its metadata, blobs and counters on the cluster's servers,
    unless ``extra`` names its own database, bucket or Redis)."""
    return {
        **backend.serve_env(root, extra),
        "REGISTRY_AUTH": "projects",
        "REGISTRY_AUTH_PROJECTS_PASSWORDCOST": "4",
        "REGISTRY_AUTH_PROJECTS_SERVICE": SERVICE,
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
        **extra,
    }


def projects_config(root: Path, **extra: str) -> RegistryConfig:
    return load(None, projects_env(root, **extra))


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def team_with_people(
    access: AccessService, project: str = "team", *, public: bool = False, storage_limit: int = -1
) -> Identity:
    """``admin`` (made if missing), ``project`` owned by admin, ``dev`` a developer and
    ``guest`` a guest in it; returns admin's identity."""
    access.users.ensure_admin(ADMIN_PASSWORD)
    admin = access.authenticate("admin", ADMIN_PASSWORD, client_ip="127.0.0.1")
    access.create_project(admin, project, public=public, storage_limit=storage_limit)
    for name, role in (("dev", Role.DEVELOPER), ("guest", Role.GUEST)):
        if access.users.find(name) is None:
            access.users.create(name, PASSWORD)
        access.add_member(admin, project, role_id=int(role), username=name)
    return admin


def audit_entries(access: AccessService, **filters: str) -> list[AuditEntry]:
    return list(access.audit.query(AuditQuery(**filters), page_size=100).items)  # type: ignore[arg-type]


def wait_for(
    what: Callable[[], T | None],
    timeout: float = 10.0,
    explain: Callable[[], str] | None = None,
) -> T:
    """``what()``'s first truthy answer, polled (entries the audit writer has not written
    yet); AssertionError after ``timeout`` seconds, with ``explain()``'s text (what the
    server logged, what it did write) when given."""
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"still {got!r} after {timeout}s{detail}")
        time.sleep(0.05)


def header_params(header: str) -> Mapping[str, str]:
    """``Bearer realm="…",service="…",scope="…"`` → its parameters."""
    _, _, rest = header.partition(" ")
    out: dict[str, str] = {}
    for part in rest.split('",'):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip().strip('"')
    return out
