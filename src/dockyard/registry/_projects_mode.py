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
from dockyard.registry._push_guard import GuardChain
from dockyard.registry._quota_hook import QuotaGuard
from dockyard.registry.access import AccessConfig, AccessService
from dockyard.registry.events import NO_EVENTS
from dockyard.registry.harbor import ApiSettings, HarborApi
from dockyard.registry.harbor._delete_events import attach_events
from dockyard.registry.harbor._promotion import promotion_guards
from dockyard.registry.http import ResponseObserver
from dockyard.registry.immutability import ImmutabilityGuard, rules_of
from dockyard.registry.immutability import _schema as immutability_schema
from dockyard.registry.metadata import Database
from dockyard.registry.promotion import _schema as promotion_schema
from dockyard.registry.replication import Replication, ReplicationSettings, open_replication
from dockyard.registry.retention import _schema as retention_schema
from dockyard.registry.retention._store import forget_project as forget_retention
from dockyard.registry.retention._wiring import RetentionParts, open_retention, with_pulls
from dockyard.registry.token import own_token_auth
from dockyard.registry.webhooks import Webhooks, open_webhooks, projects_of
from dockyard.registry.webhooks import _schema as webhook_schema
from dockyard.registry.webhooks._policies import forget_project as forget_webhooks

if TYPE_CHECKING:
    from pathlib import Path

    from dockyard.registry._registry import Registry
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
    #: every push guard (quota, immutable tags…), in order; becomes ``Registry.guard``
    guard: GuardChain
    writer: AuditWriter
    upkeep: AuditUpkeep
    #: tag retention (service, schedule, pull times); None without the registry
    retention: RetentionParts | None = None
    #: webhook policies and their delivery (``webhooks.sink`` is the registry's EventSink);
    #: None without the registry
    webhooks: Webhooks | None = None
    #: replication's queue and worker (pushes tell it through the guard chain); None
    #: without the registry
    replication: Replication | None = None

    def close(self) -> None:
        if self.replication is not None:  # what is being copied is given back to the queue
            self.replication.close()
        if self.retention is not None:
            self.retention.close()
        self.upkeep.close()
        self.writer.close()
        if self.webhooks is not None:  # last: what the others published is queued
            self.webhooks.close()


def _policies_go_with_projects(access: AccessService, db: Database) -> None:
    """A deleted project's policies go with it, in one transaction (a later project may be
    given the same id): webhook policies with their delivery log and pending deliveries,
    promotion policies, the retention policy with its history, immutable-tag rules."""

    promotion = promotion_schema.promotion_policies
    rules = immutability_schema.immutable_rules
    for metadata in (webhook_schema.metadata, promotion.metadata, rules.metadata,
                     retention_schema.metadata):  # fmt: skip
        db.create_tables(metadata)

    def forget(project_id: int) -> None:
        with db.write() as conn:
            forget_webhooks(conn, project_id)
            forget_retention(conn, project_id)
            conn.execute(promotion.delete().where(promotion.c.project_id == project_id))
            conn.execute(rules.delete().where(rules.c.project_id == project_id))

    access.on_project_deleted.append(forget)


def open_projects_mode(
    config: AccessConfig,
    db: Database,
    key_dir: Path,
    registry: Registry | None = None,
    *,
    vulndb: Path | None = None,
    replication: ReplicationSettings | None = None,
) -> ProjectsMode:
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
    access.login_audit = writer.login  # a token issued is no database write of its own
    api = HarborApi(ProjectsSecurity(access, logins), settings, access=access)
    webhooks = (
        open_webhooks(registry, projects=projects_of(access)) if registry is not None else None
    )
    if webhooks is not None:  # the API's artifact and repository deletes raise events too
        attach_events(api, webhooks.sink)
    _policies_go_with_projects(access, db)
    replicating = (  # REPLICATION events go to the webhooks
        open_replication(registry, replication, events=webhooks.sink if webhooks else NO_EVENTS)
        if registry is not None
        else None
    )
    retention = (
        open_retention(api, registry, access, events=webhooks.sink if webhooks else NO_EVENTS)
        if registry is not None
        else None
    )
    return ProjectsMode(
        access=access,
        authorizer=ProjectsAuthorizer(bearer, logins, realm=config.realm),
        token_handler=service.handle,
        api=api,
        observer=with_pulls(audit_observer(writer, api.router), retention),
        guard=GuardChain(
            [
                # first: a push it refuses raises no quota event
                ImmutabilityGuard(rules_of(db), access, db),
                QuotaGuard(access, db, events=webhooks.sink if webhooks else NO_EVENTS),
                *promotion_guards(
                    api,
                    registry,
                    access,
                    vulndb=vulndb,
                    events=webhooks.sink if webhooks else NO_EVENTS,
                ),
                *([replicating.guard] if replicating else []),  # queues event-based copies
                *([webhooks.guard] if webhooks else []),  # last: publishes stored pushes
            ]
        ),
        writer=writer,
        upkeep=AuditUpkeep(access.purge_audit).start(),
        retention=retention,
        webhooks=webhooks,
        replication=replicating,
    )
