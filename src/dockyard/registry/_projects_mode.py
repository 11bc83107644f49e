"""``auth: projects`` put together: the access model in the registry's database as the token
service's granter, the API's security and the judge of Basic credentials at ``/v2/``; LDAP
users through its directory hook; the audit log fed from ``/v2/`` and kept within its
retention and row limit (:class:`AuditUpkeep`); quotas checked at push and given back after
deletes (``/v2/`` and the API alike).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.registry._audit_hook import AuditWriter, audit_observer
from dockyard.registry._maintenance import AuditUpkeep
from dockyard.registry._projects_auth import BasicLogins, ProjectsAuthorizer, ProjectsSecurity
from dockyard.registry._quota_hook import QuotaGuard
from dockyard.registry.access import AccessConfig, AccessService
from dockyard.registry.harbor import ApiSettings, HarborApi
from dockyard.registry.http import ResponseObserver
from dockyard.registry.metadata import Database

if TYPE_CHECKING:
    from pathlib import Path

    from dockyard.registry.http._app import Handler
    from dockyard.registry.token import BearerAuthorizer, TokenService

__all__ = ["ProjectsMode", "open_access", "open_projects_mode", "prepare_projects_mode"]

log = logging.getLogger("dockyard.registry")


def open_access(config: AccessConfig, db: Database) -> AccessService:
    """The access model over ``db`` (its tables created when missing), with the LDAP
    directory when ``config.ldap`` is set."""
    directory = None
    if config.ldap is not None:
        from dockyard.registry.ldap import LdapDirectory

        directory = LdapDirectory(config.ldap)
    return AccessService(db, config, directory=directory)


def _token_service(
    access: AccessService, config: AccessConfig, key_dir: Path
) -> tuple[BearerAuthorizer, TokenService]:
    from dockyard.registry.token import own_token_auth

    return own_token_auth(
        access,
        key_dir,
        issuer=config.issuer,
        service=config.service,
        realm=config.token_realm,
        lifetime=int(config.token_expiration),
        key=config.key,
        certificate=config.certificate,
    )


def prepare_projects_mode(
    config: AccessConfig, db: Database, key_dir: Path, admin_password: str | None
) -> str | None:
    """Once, before any server process starts: the access tables, the token signing key, and
    the first ``admin`` (with ``admin_password``, or a generated one). Returns the password
    when it was generated here (to be shown once), else None."""
    access = open_access(config, db)
    _token_service(access, config, key_dir)
    created = access.users.ensure_admin(admin_password)
    if created is not None:
        access.audit.record("create", "user", "admin", "system", description="first administrator")
    return created if created is not None and not admin_password else None


@dataclass
class ProjectsMode:
    """What the app is built from in ``auth: projects``."""

    access: AccessService
    authorizer: ProjectsAuthorizer
    token_handler: Handler
    api: HarborApi
    observer: ResponseObserver
    guard: QuotaGuard
    writer: AuditWriter
    upkeep: AuditUpkeep

    def close(self) -> None:
        self.upkeep.close()
        self.writer.close()


def open_projects_mode(config: AccessConfig, db: Database, key_dir: Path) -> ProjectsMode:
    """Everything ``auth: projects`` serves with; the audit log's upkeep starts here (its
    first run now, in its own thread). :meth:`ProjectsMode.close` stops what was started."""
    access = open_access(config, db)
    bearer, service = _token_service(access, config, key_dir)
    logins = BasicLogins(access)
    settings = ApiSettings(
        realm=config.realm,
        auth_mode="ldap_auth" if config.ldap is not None else "db_auth",
        project_creation_restriction="everyone",
    )
    writer = AuditWriter(access.audit)
    return ProjectsMode(
        access=access,
        authorizer=ProjectsAuthorizer(bearer, logins, realm=config.realm),
        token_handler=service.handle,
        api=HarborApi(ProjectsSecurity(access, logins), settings, access=access),
        observer=audit_observer(writer),
        guard=QuotaGuard(access, db),
        writer=writer,
        upkeep=AuditUpkeep(access.purge_audit).start(),
    )
